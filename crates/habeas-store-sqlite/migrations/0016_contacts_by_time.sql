-- The contacts register reads a facility's contacts and requests of a few weeks: by their time,
-- in an index that grows at its end (contacts are recorded in time order), instead of every
-- contact of the prison's history joined to every open custody (at 40,000 people the page
-- took about 8 ms of SQLite alone).
CREATE INDEX contacts_by_time ON contacts (at);
CREATE INDEX contact_requests_by_time ON contact_requests (at);
