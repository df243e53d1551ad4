-- The visit register: visits to a facility from outside, or requests for them, and what
-- became of each (`oversight.visit`): inspectors, the national preventive mechanism, judges,
-- NGOs, the press, influencers, media tours, officials. An independent monitor refused while
-- others are admitted, and people held shown to the public, are findings (Mandela Rules 83-85;
-- OPCAT arts. 14 and 20; Rule 1, by analogy Rule 73(1)). A projection, rebuilt from the
-- register like the rest; the areas and notes stay in the entry.
CREATE TABLE oversight_visits (
    idx                INTEGER PRIMARY KEY,   -- the visit entry
    facility           TEXT NOT NULL,
    at                 TEXT NOT NULL,         -- when the visit took place, or was refused
    requested_at       TEXT,                  -- when it was asked for, if it was
    visitor_kind       TEXT NOT NULL,         -- inspector, npm, judge, ngo, journalist, ...
    visitor            TEXT NOT NULL,
    independent        INTEGER NOT NULL,      -- 1 for an independent monitor
    outcome            TEXT NOT NULL,         -- admitted, refused, restricted
    reason             TEXT,                  -- why refused or restricted
    authority          TEXT,                  -- who decided (or authorised)
    private_interviews INTEGER NOT NULL,
    people_exposed     TEXT NOT NULL,         -- none, faces_hidden, identifiable
    people_shown       INTEGER NOT NULL       -- 0 when nobody was shown
) STRICT;

CREATE INDEX oversight_visits_by_facility ON oversight_visits (facility, at);
