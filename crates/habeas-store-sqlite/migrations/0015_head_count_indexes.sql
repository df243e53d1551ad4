-- The head count on every board, count page and population answer: those held, those in no
-- cell and those held pending an order, each by a partial index of its own (at 40,000 people
-- the three took about 40 ms a page by scanning the open custodies; with these, under 3 ms).
CREATE INDEX custodies_open ON custodies (facility) WHERE ended IS NULL;
CREATE INDEX custodies_unplaced ON custodies (facility, admitted_at, booking)
    WHERE ended IS NULL AND cell IS NULL;
CREATE INDEX custodies_pending_order ON custodies (facility)
    WHERE ended IS NULL AND pending_order;
