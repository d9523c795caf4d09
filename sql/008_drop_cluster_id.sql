-- facerec schema, version 8: faces.cluster_id goes (issue 21).

-- Groups have lived in face_groups since version 6 (the upgrade moved every
-- stored group there); nothing has read or written faces.cluster_id since.
ALTER TABLE faces DROP COLUMN IF EXISTS cluster_id;
