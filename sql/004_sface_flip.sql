-- facerec schema, version 4: HNSW indexes for the 'sface-flip' embedder
-- (SFace on the face and its mirror image, averaged; 128-d like SFace but a
-- space of its own: never compared with 'sface' vectors).
CREATE INDEX faces_sface_flip_hnsw ON faces
    USING hnsw ((embedding::vector(128)) vector_cosine_ops) WHERE model = 'sface-flip';
CREATE INDEX faces_sface_flip_people_hnsw ON faces
    USING hnsw ((embedding::vector(128)) vector_cosine_ops) WHERE model = 'sface-flip' AND person_id IS NOT NULL;
