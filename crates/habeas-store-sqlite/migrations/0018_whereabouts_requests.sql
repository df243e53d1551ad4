-- Whereabouts requests: a family's (or anyone's) question whether a person is held here,
-- received by staff (`whereabouts.requested`), and the answer given (`whereabouts.replied`).
-- An unanswered request past the policy's hours is a finding (Mandela Rules 68–69; CED arts.
-- 17–18). A projection, rebuilt from the register like the rest.
CREATE TABLE whereabouts_requests (
    idx          INTEGER PRIMARY KEY,   -- the request entry
    facility     TEXT NOT NULL,
    at           TEXT NOT NULL,         -- when it was received
    requester    TEXT NOT NULL,
    relationship TEXT NOT NULL,
    sought_name  TEXT NOT NULL,
    replied      INTEGER,               -- the reply entry, NULL while unanswered
    replied_at   TEXT,
    held         INTEGER,               -- 1 when the reply said the person is held here
    booking      INTEGER                -- their booking, when held here
) STRICT;

CREATE INDEX whereabouts_requests_by_facility ON whereabouts_requests (facility, at);
