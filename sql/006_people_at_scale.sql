-- facerec schema, version 6: People at the scale of a real photo library (issue 13).

-- How sharp a face is: the variance of the Laplacian of its aligned 112x112
-- crop (facerec.vision.quality.sharpness), measured by `index`. NULL for
-- faces stored before this version or by an embedder that does not align.
ALTER TABLE faces ADD COLUMN sharpness real;

-- Where each unnamed library face stands in the People view. Kept apart from
-- `faces` on purpose: a row of `faces` that changes gets a new version, and
-- with it a new entry in every HNSW index (about 330 faces/s at 1M faces),
-- so storing groups in `faces.cluster_id` made a regroup of 1M faces take
-- hours. These rows are small and have btree indexes only.
--   state 'new'      not looked at yet (just indexed, or just detached from a person)
--         'grouped'  in group `group_id` (a face id; see facerec.usecases.grouping)
--         'matched'  matches registered person `matched_person_id`: shown as
--                    them, never used as their sample, not grouped
--         'gated'    too small, blurred or uncertain to group (still searchable)
-- A 'matched' face whose person is deleted (matched_person_id set to NULL)
-- counts as 'new' again. faces.cluster_id (002) is no longer read.
CREATE TABLE face_groups (
    face_id            bigint PRIMARY KEY REFERENCES faces (id) ON DELETE CASCADE,
    model              text NOT NULL,
    picture_id         bigint NOT NULL,
    state              text NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'grouped', 'matched', 'gated')),
    group_id           bigint,
    matched_person_id  bigint REFERENCES people (id) ON DELETE SET NULL,
    CHECK ((state = 'grouped') = (group_id IS NOT NULL))
);
CREATE INDEX face_groups_group ON face_groups (model, group_id) WHERE group_id IS NOT NULL;
CREATE INDEX face_groups_todo ON face_groups (model, face_id)
    WHERE state = 'new' OR (state = 'matched' AND matched_person_id IS NULL);
CREATE INDEX face_groups_matched ON face_groups (matched_person_id) WHERE matched_person_id IS NOT NULL;

-- The size of every group, kept by the triggers below, so the People view
-- lists the largest groups a page at a time without counting 1M rows.
CREATE TABLE group_sizes (
    model     text NOT NULL,
    group_id  bigint NOT NULL,
    size      integer NOT NULL,
    PRIMARY KEY (model, group_id)
);
CREATE INDEX group_sizes_largest ON group_sizes (model, size DESC, group_id);
CREATE INDEX group_sizes_empty ON group_sizes (model) WHERE size <= 0;

CREATE FUNCTION group_sizes_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO group_sizes AS s (model, group_id, size)
    SELECT model, group_id, count(*) FROM new_rows WHERE group_id IS NOT NULL GROUP BY model, group_id
    ON CONFLICT (model, group_id) DO UPDATE SET size = s.size + EXCLUDED.size;
    RETURN NULL;
END $$;
CREATE FUNCTION group_sizes_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO group_sizes AS s (model, group_id, size)
    SELECT model, group_id, sum(d) FROM (
        SELECT model, group_id, -1 AS d FROM old_rows WHERE group_id IS NOT NULL
        UNION ALL SELECT model, group_id, 1 FROM new_rows WHERE group_id IS NOT NULL) x
    GROUP BY model, group_id HAVING sum(d) <> 0
    ON CONFLICT (model, group_id) DO UPDATE SET size = s.size + EXCLUDED.size;
    DELETE FROM group_sizes WHERE size <= 0;
    RETURN NULL;
END $$;
CREATE FUNCTION group_sizes_after_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE group_sizes s SET size = s.size - d.n
    FROM (SELECT model, group_id, count(*) AS n FROM old_rows WHERE group_id IS NOT NULL GROUP BY model, group_id) d
    WHERE s.model = d.model AND s.group_id = d.group_id;
    DELETE FROM group_sizes WHERE size <= 0;
    RETURN NULL;
END $$;
CREATE TRIGGER face_groups_sizes_insert AFTER INSERT ON face_groups
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION group_sizes_after_insert();
CREATE TRIGGER face_groups_sizes_update AFTER UPDATE ON face_groups
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION group_sizes_after_update();
CREATE TRIGGER face_groups_sizes_delete AFTER DELETE ON face_groups
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION group_sizes_after_delete();
CREATE FUNCTION group_sizes_after_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE group_sizes;
    RETURN NULL;
END $$;
CREATE TRIGGER face_groups_sizes_truncate AFTER TRUNCATE ON face_groups
    FOR EACH STATEMENT EXECUTE FUNCTION group_sizes_after_truncate();

-- One row per model: what the last grouping saw of the registered people
-- (a digest of their samples and of the "not this person" answers), so a
-- change is noticed and the matches are computed again.
CREATE TABLE grouping_state (
    model            text PRIMARY KEY,
    people_digest    text NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- Every unnamed face added to a library picture gets its row, whoever adds
-- it (index, a copied file, reembed), in one statement per INSERT or COPY.
CREATE FUNCTION face_groups_add_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO face_groups (face_id, model, picture_id)
    SELECT n.id, n.model, n.picture_id FROM new_faces n JOIN pictures p ON p.id = n.picture_id
    WHERE n.person_id IS NULL AND p.indexed_at IS NOT NULL;
    RETURN NULL;
END $$;
CREATE TRIGGER faces_group_new AFTER INSERT ON faces
    REFERENCING NEW TABLE AS new_faces FOR EACH STATEMENT EXECUTE FUNCTION face_groups_add_new();

-- A face given to a person leaves the People groups; a face taken away from
-- its person ("not this person") is looked at again, as a new one.
CREATE FUNCTION face_groups_person_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.person_id IS NULL THEN
        INSERT INTO face_groups (face_id, model, picture_id)
        SELECT NEW.id, NEW.model, NEW.picture_id
        WHERE EXISTS (SELECT 1 FROM pictures p WHERE p.id = NEW.picture_id AND p.indexed_at IS NOT NULL)
        ON CONFLICT (face_id) DO UPDATE SET state = 'new', group_id = NULL, matched_person_id = NULL;
    ELSE
        DELETE FROM face_groups WHERE face_id = NEW.id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER faces_group_person AFTER UPDATE OF person_id ON faces FOR EACH ROW
    WHEN (OLD.person_id IS DISTINCT FROM NEW.person_id) EXECUTE FUNCTION face_groups_person_changed();

-- The groups stored before this version keep their ids.
INSERT INTO face_groups (face_id, model, picture_id, state, group_id)
SELECT f.id, f.model, f.picture_id,
       CASE WHEN f.cluster_id IS NULL THEN 'new' ELSE 'grouped' END, f.cluster_id
FROM faces f JOIN pictures p ON p.id = f.picture_id
WHERE f.person_id IS NULL AND p.indexed_at IS NOT NULL;
