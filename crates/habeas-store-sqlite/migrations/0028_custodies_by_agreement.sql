-- The people held under a custody agreement: the agreement's account and the list of
-- agreements count and read them by agreement. Without this index each read scanned every
-- custody (two million in a national register). Partial: only custodies under an agreement
-- are in it, so an admission without one writes nothing more.
CREATE INDEX custodies_by_agreement ON custodies (agreement, person, booking)
    WHERE agreement IS NOT NULL;
