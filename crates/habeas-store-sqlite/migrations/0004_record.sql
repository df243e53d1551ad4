-- Projections of the rest of the prisoner file: charges, hearings, detention reviews, contact
-- and requests for it, complaints with their replies and referrals.
CREATE TABLE charges (
    idx       INTEGER PRIMARY KEY,
    booking   INTEGER NOT NULL,
    offence   TEXT NOT NULL,
    provision TEXT NOT NULL,
    date      TEXT NOT NULL
) STRICT;

CREATE TABLE hearings (
    idx          INTEGER PRIMARY KEY,
    facility     TEXT NOT NULL,
    court        TEXT NOT NULL,
    at           TEXT NOT NULL,
    mode         TEXT NOT NULL,          -- in_person or video
    counsel      TEXT,                   -- NULL: no counsel present
    people_heard INTEGER NOT NULL,       -- how many were heard in the same hearing
    outcome      TEXT,
    next_date    TEXT
) STRICT;

CREATE TABLE hearing_people (
    booking INTEGER NOT NULL,
    idx     INTEGER NOT NULL,
    PRIMARY KEY (booking, idx)
) STRICT, WITHOUT ROWID;

CREATE TABLE reviews (
    idx         INTEGER PRIMARY KEY,
    booking     INTEGER NOT NULL,
    at          TEXT NOT NULL,
    authority   TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    next_review TEXT
) STRICT;

CREATE TABLE contacts (
    idx     INTEGER PRIMARY KEY,
    booking INTEGER NOT NULL,
    kind    TEXT NOT NULL,               -- visit, call, letter
    party   TEXT NOT NULL,               -- family, legal, consular, inspector, media, official
    at      TEXT NOT NULL,
    minutes INTEGER
) STRICT;

CREATE INDEX contacts_by_person ON contacts (booking, party, at);

CREATE TABLE contact_requests (
    idx       INTEGER PRIMARY KEY,
    booking   INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    party     TEXT NOT NULL,
    at        TEXT NOT NULL,
    granted   INTEGER NOT NULL,
    reason    TEXT,
    authority TEXT
) STRICT;

CREATE TABLE complaints (
    idx                   INTEGER PRIMARY KEY,
    facility              TEXT NOT NULL,
    booking               INTEGER NOT NULL,
    at                    TEXT NOT NULL,
    confidential          INTEGER NOT NULL,
    alleges_ill_treatment INTEGER NOT NULL,
    reply_due             TEXT NOT NULL,
    replied               INTEGER,       -- the first reply's entry
    referred              INTEGER        -- the referral's entry
) STRICT;

CREATE TABLE incidents (
    idx        INTEGER PRIMARY KEY,
    facility   TEXT NOT NULL,
    at         TEXT NOT NULL,
    force_used INTEGER NOT NULL,
    reviewed   INTEGER,                  -- the review's entry
    addenda    INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE incident_people (
    booking INTEGER NOT NULL,
    idx     INTEGER NOT NULL,
    PRIMARY KEY (booking, idx)
) STRICT, WITHOUT ROWID;

CREATE TABLE sanctions (
    idx      INTEGER PRIMARY KEY,
    booking  INTEGER NOT NULL,
    at       TEXT NOT NULL,
    sanction TEXT NOT NULL,
    days     INTEGER,
    review   TEXT
) STRICT;

-- Health records: only the fact and its kind; the content stays in the (restricted) entry.
CREATE TABLE health (
    idx     INTEGER PRIMARY KEY,
    booking INTEGER NOT NULL,
    at      TEXT NOT NULL,
    kind    TEXT NOT NULL
) STRICT;

CREATE TABLE programme_attendance (
    idx       INTEGER PRIMARY KEY,
    booking   INTEGER NOT NULL,
    at        TEXT NOT NULL,
    programme TEXT NOT NULL,
    kind      TEXT NOT NULL,
    minutes   INTEGER NOT NULL
) STRICT;

CREATE TABLE environment (
    idx            INTEGER PRIMARY KEY,
    facility       TEXT NOT NULL,
    place          TEXT NOT NULL,            -- a cell, or a unit
    at             TEXT NOT NULL,
    temperature_dc INTEGER,                  -- tenths of a degree Celsius
    lighting_on    INTEGER,
    ventilation_on INTEGER
) STRICT;

CREATE INDEX environment_by_place ON environment (facility, place, at);
