-- Contacts lose their per-person index. Every visit, call or letter wrote a leaf of it for its
-- person on top of the leaf of `custody_events` it already writes, so a group commit of visits
-- to different people wrote twice the pages it needs (measured: about 35 of 64 pages of each
-- commit of family visits). A person's contacts are found through `custody_events`, as every
-- other record of theirs is; the compliance report scans `contacts` once and joins custodies
-- by booking, as it does for charges, hearings, complaints and incidents.
DROP INDEX IF EXISTS contacts_by_person;
