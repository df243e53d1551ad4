-- One identity document is one person (issue: the same person admitted twice). Each document
-- recorded at a first admission, by kind, number and issuing country, as folded for matching
-- (kind and number upper-cased, the number without spaces, dots or hyphens; a document that
-- names no issuer is taken as issued by the admitting facility's country). A projection:
-- rebuilt from the admissions like the rest.
CREATE TABLE person_documents (
    kind   TEXT NOT NULL,
    number TEXT NOT NULL,
    issuer TEXT NOT NULL,
    person INTEGER NOT NULL,
    PRIMARY KEY (kind, number, issuer)
) STRICT, WITHOUT ROWID;

-- Probable matches at admission: the same folded name and the same birth date.
CREATE INDEX persons_by_name_and_birth ON persons (search_name, birth_date);

-- Fill the new projection from what the store already holds: every person's first admission.
INSERT OR IGNORE INTO person_documents (kind, number, issuer, person)
SELECT upper(trim(json_extract(d.value, '$.kind'))),
       upper(replace(replace(replace(trim(json_extract(d.value, '$.number')), ' ', ''), '-', ''), '.', '')),
       upper(coalesce(json_extract(d.value, '$.issuer'), f.country)),
       p.person
FROM persons p
JOIN register_log l ON l.idx = p.person
JOIN json_each(CAST(l.bytes AS TEXT), '$.payload.person.documents') d
JOIN facilities f ON f.code = json_extract(CAST(l.bytes AS TEXT), '$.facility');
