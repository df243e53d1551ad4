-- Photographs of people for identification (Rule 7). The image stays in its entry; the
-- projection says which entry holds each custody's photographs.
CREATE TABLE photos (
    idx        INTEGER PRIMARY KEY,   -- the photograph's entry
    booking    INTEGER NOT NULL,
    taken_on   TEXT NOT NULL,
    media_type TEXT NOT NULL
) STRICT;
CREATE INDEX photos_booking ON photos (booking, idx);
