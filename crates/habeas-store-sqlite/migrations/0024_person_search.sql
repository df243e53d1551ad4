-- Person search by SQLite's full-text index (FTS5) instead of the word table of migration 7.
-- The word table answered a search by reading the whole range of one word and checking the
-- others on each person's name; with two million people and three common words ("Édgar Flores
-- Villalta", each held by tens of thousands) that read took up to 70 ms. FTS5 keeps each
-- word's people as a compressed list and intersects them.
--
-- The index reads its words from `persons` (external content): the folded name and the
-- folded former names, each a column, so a word found in either finds the person. Triggers
-- keep it in step with every write of `persons`, whoever writes it (the projector, a
-- rebuild, an identity correction); a person is taken out of it only if it holds them, so a
-- rebuild that empties the index first (`delete-all`) then deletes `persons` finds nothing
-- to take out. Words are what the folded name splits into at spaces;
-- hyphens, apostrophes and full stops stay inside a word ("garcia-lopez", "o'neill"), as
-- they did in the word table. Every word's first four letters are kept as a word of their
-- own (`prefix`): a search asks for the beginnings of its words, which are ready lists that
-- FTS5 intersects lazily, and checks the whole words on each person found.
CREATE VIRTUAL TABLE person_search USING fts5(
    search_name,
    former_search,
    content = 'persons',
    content_rowid = 'person',
    tokenize = "unicode61 remove_diacritics 2 tokenchars '-''.'",
    prefix = '4'
);

CREATE TRIGGER persons_search_insert AFTER INSERT ON persons BEGIN
    INSERT INTO person_search (rowid, search_name, former_search)
    VALUES (new.person, new.search_name, new.former_search);
END;

CREATE TRIGGER persons_search_delete AFTER DELETE ON persons BEGIN
    INSERT INTO person_search (person_search, rowid, search_name, former_search)
    SELECT 'delete', old.person, old.search_name, old.former_search
    WHERE EXISTS (SELECT 1 FROM person_search_docsize WHERE id = old.person);
END;

CREATE TRIGGER persons_search_update AFTER UPDATE OF search_name, former_search ON persons BEGIN
    INSERT INTO person_search (person_search, rowid, search_name, former_search)
    SELECT 'delete', old.person, old.search_name, old.former_search
    WHERE EXISTS (SELECT 1 FROM person_search_docsize WHERE id = old.person);
    INSERT INTO person_search (rowid, search_name, former_search)
    VALUES (new.person, new.search_name, new.former_search);
END;

-- The people already recorded.
INSERT INTO person_search (person_search) VALUES ('rebuild');

DROP TABLE person_names;
