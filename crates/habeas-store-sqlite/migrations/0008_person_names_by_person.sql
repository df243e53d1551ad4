-- The name index is also looked up by person: when a person's identity is corrected, their old
-- words are deleted. Without this index each admission scanned every word of every person, so
-- recording a population took time quadratic in its size.
CREATE INDEX person_names_by_person ON person_names (person);
