-- facerec schema, version 3: imgbeddings (CLIP ViT-B/32 image features, 768-d).
-- Its vectors share faces.embedding with the other models (model = 'imgbeddings');
-- like SFace in 001 it gets its own partial HNSW indexes on the typed expression,
-- so a search of one model never reads, or is compared with, another model's rows.
-- (Independent of 002: applies the same whichever order the two are applied in.)

CREATE INDEX faces_imgbeddings_hnsw ON faces
    USING hnsw ((embedding::vector(768)) vector_cosine_ops) WHERE model = 'imgbeddings';
CREATE INDEX faces_imgbeddings_people_hnsw ON faces
    USING hnsw ((embedding::vector(768)) vector_cosine_ops) WHERE model = 'imgbeddings' AND person_id IS NOT NULL;
