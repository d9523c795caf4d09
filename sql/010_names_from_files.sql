-- facerec schema, version 10: names that travel with the photos (issue 23).
--
-- `region_files`: for each library picture whose metadata was read, the photo's
-- content hash and its sidecars' (path, SHA-256 or null) as they were read. When
-- either differs at the next `index`, the face regions are read again and what came
-- from the files is brought up to date (what the user changed in facerec is kept).
CREATE TABLE region_files (
    picture_id  bigint PRIMARY KEY REFERENCES pictures (id) ON DELETE CASCADE,
    sha256      text,
    sidecars    jsonb NOT NULL DEFAULT '[]',
    read_at     timestamptz NOT NULL DEFAULT now()
);

-- `region_names`: every name a file gave a picture (a sidecar's or the photo's own
-- XMP region, a Google Takeout JSON, a Picasa ini) and what became of it:
-- 'named' (the face was given the name), 'ask' (the guard doubted it: left for the
-- user to confirm), 'refused' (it contradicts a registered person), 'hint' (no face
-- to put it on: "is this X?" may use it), 'kept' (the face has another name in
-- facerec, which wins).
CREATE TABLE region_names (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    picture_id  bigint NOT NULL REFERENCES pictures (id) ON DELETE CASCADE,
    face_id     bigint REFERENCES faces (id) ON DELETE SET NULL,
    name        text NOT NULL,
    box         integer[] CHECK (box IS NULL OR cardinality(box) = 4),
    origin      text NOT NULL,
    state       text NOT NULL CHECK (state IN ('named', 'ask', 'refused', 'hint', 'kept')),
    problem     text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX region_names_picture ON region_names (picture_id);
CREATE INDEX region_names_face ON region_names (face_id) WHERE face_id IS NOT NULL;

-- `sidecar_writes`: the files one `xmp export` (a journal entry) wrote, so that
-- `undo` puts each back: `previous` is the copy of the old file kept in the data
-- directory (null: the file did not exist), `sha256` what facerec wrote (undo
-- refuses a file changed since).
CREATE TABLE sidecar_writes (
    journal_id  bigint NOT NULL REFERENCES journal (id) ON DELETE CASCADE,
    path        text NOT NULL,
    photo       text NOT NULL,
    previous    text,
    sha256      text NOT NULL,
    PRIMARY KEY (journal_id, path)
);
