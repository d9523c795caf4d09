-- facerec schema, version 2: the photo library and people groups.

-- A picture is part of the photo library once `index` has stored its faces;
-- registration-only pictures keep indexed_at NULL.
ALTER TABLE pictures ADD COLUMN indexed_at timestamptz;
CREATE INDEX pictures_indexed ON pictures (picture) WHERE indexed_at IS NOT NULL;

-- Groups of unnamed faces found by clustering ("people"). A group's id is
-- the smallest face id in it, so ids stay the same while the group does.
ALTER TABLE faces ADD COLUMN cluster_id bigint;
CREATE INDEX faces_cluster ON faces (cluster_id) WHERE cluster_id IS NOT NULL;

-- What the user said about pairs of faces: 'same' (merged groups) or
-- 'different' (split: "not this person"). Re-clustering obeys them.
CREATE TABLE face_links (
    face_a  bigint NOT NULL REFERENCES faces (id) ON DELETE CASCADE,
    face_b  bigint NOT NULL REFERENCES faces (id) ON DELETE CASCADE,
    kind    text NOT NULL CHECK (kind IN ('same', 'different')),
    PRIMARY KEY (face_a, face_b),
    CHECK (face_a < face_b)
);
CREATE INDEX face_links_b ON face_links (face_b);

-- "This face is not that person": keeps a split face from being shown as,
-- or re-attached to, the person it was taken from.
CREATE TABLE face_not_person (
    face_id    bigint NOT NULL REFERENCES faces (id) ON DELETE CASCADE,
    person_id  bigint NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    PRIMARY KEY (face_id, person_id)
);
