-- Projections of the estate and of custody. Every row names the register entry it comes from.
CREATE TABLE facilities (
    code    TEXT PRIMARY KEY,
    idx     INTEGER NOT NULL,
    name    TEXT NOT NULL,
    country TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE units (
    facility TEXT NOT NULL,
    code     TEXT NOT NULL,
    idx      INTEGER NOT NULL,
    name     TEXT NOT NULL,
    PRIMARY KEY (facility, code)
) STRICT, WITHOUT ROWID;

CREATE TABLE cells (
    facility    TEXT NOT NULL,
    code        TEXT NOT NULL,
    unit        TEXT NOT NULL,
    idx         INTEGER NOT NULL,  -- the entry that last defined the cell
    certified   INTEGER NOT NULL,  -- the entry that certified its current capacity
    area_cm2    INTEGER NOT NULL,
    bunks       INTEGER NOT NULL,
    cna         INTEGER NOT NULL,
    operational INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    lighting    TEXT NOT NULL,
    window      INTEGER NOT NULL,
    ventilation TEXT NOT NULL,
    sanitation  INTEGER NOT NULL,
    population  INTEGER NOT NULL,
    -- Who is in the cell, as Rule 11 sees them, so that an allocation is checked without
    -- reading every occupant: bit sets of sexes (1 male, 2 female, 4 intersex) and status
    -- groups (1 untried, 2 convicted, 4 civil), and the earliest and latest birth dates.
    sexes       INTEGER NOT NULL DEFAULT 0,
    groups      INTEGER NOT NULL DEFAULT 0,
    min_birth   TEXT,
    max_birth   TEXT,
    -- Whether the cell's people are in it or out of it together (a whole-cell movement).
    presence    TEXT NOT NULL DEFAULT 'in_cell',
    PRIMARY KEY (facility, code)
) STRICT, WITHOUT ROWID;

CREATE TABLE persons (
    person        INTEGER PRIMARY KEY,  -- the admission that first recorded the person
    given_names   TEXT NOT NULL,
    surnames      TEXT NOT NULL,
    birth_date    TEXT NOT NULL,
    sex           TEXT NOT NULL,
    nationalities TEXT NOT NULL,        -- comma-separated ISO 3166-1 codes
    search_name   TEXT NOT NULL         -- lower case, without accents, for search
) STRICT;

CREATE TABLE custodies (
    booking      INTEGER PRIMARY KEY,   -- the admission entry
    person       INTEGER NOT NULL,
    facility     TEXT NOT NULL,
    admitted_at  TEXT NOT NULL,
    legal_status TEXT NOT NULL,
    foreign_national INTEGER NOT NULL,
    unit         TEXT,
    cell         TEXT,
    allocated    INTEGER,               -- the entry of the current allocation
    presence     TEXT,                  -- in_cell (with the cell), out_of_cell (alone) or away; NULL before a cell
    away_to      TEXT,                  -- court, hospital or temporary_absence
    agreement    INTEGER,               -- the custody agreement it is held under
    release_date TEXT,                  -- from the latest sentence, with credit for remand
    ended        INTEGER,               -- the entry that ended the custody
    end_reason   TEXT
) STRICT;

CREATE INDEX custodies_in_cell ON custodies (facility, cell) WHERE ended IS NULL;
CREATE INDEX custodies_of_person ON custodies (person);

CREATE TABLE commitment_orders (
    booking   INTEGER NOT NULL,
    n         INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    authority TEXT NOT NULL,
    reference TEXT NOT NULL,
    issued    TEXT NOT NULL,
    expires   TEXT,
    review    TEXT,
    sentence_days INTEGER,
    idx       INTEGER NOT NULL,         -- the entry that recorded the order
    PRIMARY KEY (booking, n)
) STRICT, WITHOUT ROWID;

CREATE TABLE non_associations (
    idx      INTEGER PRIMARY KEY,
    facility TEXT NOT NULL,
    a        INTEGER NOT NULL,
    b        INTEGER NOT NULL,
    scope    TEXT NOT NULL,
    ended    INTEGER
) STRICT;

CREATE INDEX non_associations_a ON non_associations (a) WHERE ended IS NULL;
CREATE INDEX non_associations_b ON non_associations (b) WHERE ended IS NULL;

CREATE TABLE allocation_overrides (
    idx       INTEGER PRIMARY KEY,      -- the allocation entry
    booking   INTEGER NOT NULL,
    cell      TEXT NOT NULL,
    rules     TEXT NOT NULL,            -- the rules overridden, comma-separated
    reason    TEXT NOT NULL,
    authority TEXT NOT NULL
) STRICT;

CREATE TABLE custody_events (
    booking INTEGER NOT NULL,
    idx     INTEGER NOT NULL,
    PRIMARY KEY (booking, idx)
) STRICT, WITHOUT ROWID;

-- Movements: one row per person moved alone, one row per whole-cell movement (the people in
-- the cell at that moment moved together; `people` says how many).
CREATE TABLE movements (
    idx         INTEGER NOT NULL,
    booking     INTEGER,                -- NULL for a whole-cell movement
    cell        TEXT,
    people      INTEGER NOT NULL,
    kind        TEXT NOT NULL,          -- out_of_cell, back_to_cell, out, return
    open_air    INTEGER NOT NULL,
    destination TEXT,
    at          TEXT NOT NULL
) STRICT;

CREATE INDEX movements_by_booking ON movements (booking) WHERE booking IS NOT NULL;
CREATE INDEX movements_by_cell ON movements (cell, at) WHERE booking IS NULL;

CREATE TABLE roll_counts (
    idx      INTEGER NOT NULL,
    facility TEXT NOT NULL,
    at       TEXT NOT NULL,
    cell     TEXT NOT NULL,
    counted  INTEGER NOT NULL,
    expected INTEGER NOT NULL,          -- people recorded in the cell at the count
    PRIMARY KEY (idx, cell)
) STRICT, WITHOUT ROWID;

CREATE INDEX roll_counts_by_day ON roll_counts (facility, at);

-- When a count names who was found: who was recorded in the cell but not found (missing),
-- and who was found but is recorded elsewhere (extra).
CREATE TABLE roll_count_people (
    idx     INTEGER NOT NULL,
    cell    TEXT NOT NULL,
    booking INTEGER NOT NULL,
    finding TEXT NOT NULL,
    PRIMARY KEY (idx, cell, booking)
) STRICT, WITHOUT ROWID;

CREATE TABLE agreements (
    idx         INTEGER PRIMARY KEY,
    facility    TEXT NOT NULL,
    counterpart TEXT NOT NULL,
    reference   TEXT NOT NULL,
    starts      TEXT NOT NULL,
    ends        TEXT,
    per_capita_rate INTEGER,
    currency    TEXT
) STRICT;

CREATE TABLE death_cases (
    idx       INTEGER PRIMARY KEY,      -- the death entry
    booking   INTEGER NOT NULL,
    facility  TEXT NOT NULL,
    at        TEXT NOT NULL,
    violent   INTEGER NOT NULL,
    family_informed                TEXT,
    independent_authority_informed TEXT,
    investigation_opened           TEXT,
    post_mortem                    TEXT,
    remains_returned               TEXT
) STRICT;
