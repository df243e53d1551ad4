-- Person search by an index of name words: every word of a person's folded name
-- (`persons.search_name`, lower case, without accents), so that a search reads index ranges
-- (word prefixes) instead of every person.
CREATE TABLE person_names (
    token  TEXT NOT NULL,
    person INTEGER NOT NULL,
    PRIMARY KEY (token, person)
) STRICT, WITHOUT ROWID;

-- The people already recorded.
INSERT OR IGNORE INTO person_names (token, person)
WITH RECURSIVE split(person, token, rest) AS (
    SELECT person, '', search_name || ' ' FROM persons
    UNION ALL
    SELECT person, substr(rest, 1, instr(rest, ' ') - 1), substr(rest, instr(rest, ' ') + 1)
    FROM split WHERE rest <> ''
)
SELECT token, person FROM split WHERE token <> '';
