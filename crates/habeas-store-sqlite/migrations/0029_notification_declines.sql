-- A person's own decision that nobody be told of their imprisonment or transfer
-- (`contact.notification_declined`, Mandela Rule 68). A decline made before the family contact
-- fell due stands in place of it (`notification.declined`, a notice for inspectors, instead of
-- `notification.family_not_informed`), and a facility that records declines for many of the
-- people it takes in is found (`notification.declines_frequent`). A projection, rebuilt from
-- the register like the rest; the person's statement stays in the entry.
CREATE TABLE notification_declines (
    idx          INTEGER PRIMARY KEY,   -- the decline entry
    booking      INTEGER NOT NULL,
    at           TEXT NOT NULL,         -- when the person said so
    witnessed_by TEXT                   -- a second person present, if any
) STRICT;

CREATE INDEX notification_declines_by_booking ON notification_declines (booking, at);
