-- facerec schema, version 11: home videos in the library (issue 24).

-- A library file is a photo or a video clip. A clip's `sha256` is
-- facerec.video.clips.clip_hash (its size and three 1 MiB stretches), its
-- width x height the upright picture, `duration` its length in seconds.
ALTER TABLE pictures ADD COLUMN kind text NOT NULL DEFAULT 'photo' CHECK (kind IN ('photo', 'video'));
ALTER TABLE pictures ADD COLUMN duration real;

-- A face of a clip is one face track (one person on screen, followed from
-- frame to frame): `t_seconds` is the time of its best frame, where `box`
-- and `landmarks` were found (thumbnails show that frame); `spans` the
-- stretches it was on screen, as [start1, end1, start2, end2, ...] seconds.
-- Both NULL for faces of photos.
ALTER TABLE faces ADD COLUMN t_seconds real;
ALTER TABLE faces ADD COLUMN spans real[] CHECK (spans IS NULL OR cardinality(spans) % 2 = 0);
