-- facerec schema, version 1.
-- Applied once by facerec.store.migrate(), inside a transaction, and recorded
-- in schema_migrations. Never edit an applied file: add a new numbered one.

-- People who have been registered (by photo, by camera, or by naming a group).
CREATE TABLE people (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (length(btrim(name)) > 0 AND length(name) <= 100),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per source image: a photo file (by absolute path) or a camera
-- capture (by its file in the data directory). The tutorial's table name.
CREATE TABLE pictures (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    picture     text NOT NULL UNIQUE,
    source      text NOT NULL CHECK (source IN ('file', 'capture')),
    sha256      text,
    size        bigint,
    mtime       double precision,
    width       integer,
    height      integer,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pictures_sha256 ON pictures (sha256);

-- One row per (detected face, embedding model). person_id is set for
-- registration samples and for faces the user has named.
CREATE TABLE faces (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    picture_id  bigint NOT NULL REFERENCES pictures (id) ON DELETE CASCADE,
    person_id   bigint REFERENCES people (id) ON DELETE CASCADE,
    model       text NOT NULL,
    box         integer[] NOT NULL CHECK (cardinality(box) = 4),
    landmarks   real[],
    score       real NOT NULL,
    embedding   vector NOT NULL,
    crop        text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX faces_picture ON faces (picture_id);
CREATE INDEX faces_person ON faces (person_id) WHERE person_id IS NOT NULL;

-- Vectors of several models share the untyped column; each model gets its own
-- partial HNSW indexes on the typed expression (pgvector's documented way).
-- Queries must repeat the expression and the predicate to use them.
CREATE INDEX faces_sface_hnsw ON faces
    USING hnsw ((embedding::vector(128)) vector_cosine_ops) WHERE model = 'sface';
CREATE INDEX faces_sface_people_hnsw ON faces
    USING hnsw ((embedding::vector(128)) vector_cosine_ops) WHERE model = 'sface' AND person_id IS NOT NULL;
