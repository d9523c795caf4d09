-- facerec schema, version 9: every face in the photo (issue 22).

-- The turn that shows a picture upright: degrees clockwise (0, 90, 180, 270)
-- to rotate the photo as decoded (after its EXIF orientation) for a photo lying
-- on its side without EXIF (a scan, an old camera). Boxes and landmarks stay in
-- the photo's own pixels; whoever shows the photo turns it (the user's file is
-- never rewritten).
ALTER TABLE pictures ADD COLUMN turn smallint NOT NULL DEFAULT 0 CHECK (turn IN (0, 90, 180, 270));

-- A face too small for its model to tell people apart (narrower than the
-- embedder's min_face_px in the pixels it read): stored and shown as a face,
-- never grouped, named, or returned by a search as a match.
ALTER TABLE faces ADD COLUMN small boolean NOT NULL DEFAULT false;
ALTER TABLE faces ADD CONSTRAINT faces_small_never_named CHECK (NOT small OR person_id IS NULL);

-- Small faces never enter the People view: no face_groups row, so they are
-- neither grouped nor matched to a registered person.
CREATE OR REPLACE FUNCTION face_groups_add_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO face_groups (face_id, model, picture_id)
    SELECT n.id, n.model, n.picture_id FROM new_faces n JOIN pictures p ON p.id = n.picture_id
    WHERE n.person_id IS NULL AND NOT n.small AND p.indexed_at IS NOT NULL;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION face_groups_person_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.person_id IS NULL THEN
        INSERT INTO face_groups (face_id, model, picture_id)
        SELECT NEW.id, NEW.model, NEW.picture_id
        WHERE NOT NEW.small
          AND EXISTS (SELECT 1 FROM pictures p WHERE p.id = NEW.picture_id AND p.indexed_at IS NOT NULL)
        ON CONFLICT (face_id) DO UPDATE SET state = 'new', group_id = NULL, matched_person_id = NULL;
    ELSE
        DELETE FROM face_groups WHERE face_id = NEW.id;
    END IF;
    RETURN NULL;
END $$;
