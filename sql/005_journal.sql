-- facerec schema, version 5: the journal of changes to who is who.
--
-- Every change to people and their faces (register, name a group, merge, split,
-- remove a sample, rename, delete) appends one row. `changes` says how to revert
-- it exactly: the rows it inserted (deleted again by undo), the rows it deleted and
-- the earlier state of the rows it updated (put back by undo). Undoing appends a
-- row of its own (action 'undo', `reverts` = the entry it reverted); rows are never
-- removed. The one exception is an erasure: deleting a person stores no copy of
-- them, and clears `changes` and the summary of every earlier entry about them
-- (`people`), so no embedding, image path or name of theirs survives here.
CREATE TABLE journal (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    action    text NOT NULL,
    summary   text NOT NULL,
    people    bigint[] NOT NULL DEFAULT '{}',
    changes   jsonb,
    files     text[] NOT NULL DEFAULT '{}',
    reverts   bigint REFERENCES journal (id)
);
CREATE INDEX journal_people ON journal USING gin (people);
CREATE UNIQUE INDEX journal_reverts ON journal (reverts) WHERE reverts IS NOT NULL;
