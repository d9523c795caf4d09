"""Filling the benchmark database: pictures and faces in the real schema, four ways.

Faces go into the real `faces` table (model 'sface', a picture each, a box,
five landmarks, a score, the embedding) so that the product's partial HNSW
index and query shape are what the benchmark measures. Ways to insert, fastest first:

- `copy_binary`: COPY ... (FORMAT binary), rows packed by numpy. Use this for bulk loads.
- `copy_text`: COPY in text format; the client spends most of its time formatting floats.
- `insert_batches`: psycopg2's `execute_values`, 1,000 rows per statement.
- `insert_one_by_one`: one INSERT per face (what `PeopleStore.add_samples` does), one transaction.

Each returns the seconds it took, commit included.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass

import numpy as np
import psycopg2.extensions
from psycopg2.extras import execute_values

MODEL = "sface"
FOLDERS = 100  # pictures are spread over /bench/photos/fNNN/ (1% of the library each) ...
SUBFOLDERS = 10  # ... and /bench/photos/fNNN/sN/ (0.1% each)
FACES_PER_PICTURE = 2
COPY_CHUNK = 100_000  # rows per COPY statement: bounds client memory (about 70 MB per chunk)

FACE_COLUMNS = "picture_id, model, box, landmarks, score, embedding"
_INT4_OID = 23
_FLOAT4_OID = 700


@dataclass(frozen=True)
class FaceRows:
    """Column arrays of faces to insert; `rows[a:b]` slices every column."""

    picture_id: np.ndarray  # int64
    box: np.ndarray  # int32 (n, 4): x, y, w, h
    landmarks: np.ndarray  # float32 (n, 10)
    score: np.ndarray  # float32
    embedding: np.ndarray  # float32 (n, dim), unit length

    def __len__(self) -> int:
        return len(self.picture_id)

    def __getitem__(self, part: slice) -> FaceRows:
        return FaceRows(
            self.picture_id[part], self.box[part], self.landmarks[part], self.score[part], self.embedding[part]
        )


def face_rows(embedding: np.ndarray, rng: np.random.Generator, first_picture_id: int = 1) -> FaceRows:
    """Plausible detector output around each embedding; FACES_PER_PICTURE faces per picture."""
    n = len(embedding)
    xy = rng.integers(0, 800, (n, 2))
    size = rng.integers(60, 400, (n, 1))
    box = np.hstack([xy, size, (size * 1.2).astype(np.int64)]).astype(np.int32)
    points = np.array([0.3, 0.45, 0.7, 0.45, 0.5, 0.6, 0.35, 0.8, 0.65, 0.8])  # eyes, nose, mouth corners
    landmarks = (np.repeat(box[:, :2], 5, axis=1) + points * np.repeat(box[:, 2:], 5, axis=1)).astype(np.float32)
    score = rng.uniform(0.7, 1.0, n).astype(np.float32)
    picture_id = first_picture_id + np.arange(n, dtype=np.int64) // FACES_PER_PICTURE
    return FaceRows(picture_id, box, landmarks, score, np.ascontiguousarray(embedding, np.float32))


def folder_prefix(folder: int, subfolder: int | None = None) -> str:
    """The path prefix of a picture folder (1% of pictures) or subfolder (0.1%), for `LIKE prefix || '%'`."""
    return f"/bench/photos/f{folder:03d}/" + ("" if subfolder is None else f"s{subfolder}/")


def load_pictures(conn: psycopg2.extensions.connection, n: int, rng: np.random.Generator) -> float:
    """COPY `n` pictures, each in a random folder and subfolder; ids 1..n on an empty, reset table."""
    folder = rng.integers(0, FOLDERS, n)
    sub = rng.integers(0, SUBFOLDERS, n)
    text = "".join(f"{folder_prefix(f, s)}{i:08d}.jpg\tfile\t1600\t1200\n" for i, (f, s) in enumerate(zip(folder, sub)))
    start = time.perf_counter()
    with conn.cursor() as cur:
        cur.copy_expert("COPY pictures (picture, source, width, height) FROM STDIN", io.StringIO(text), size=1 << 20)
    conn.commit()
    return time.perf_counter() - start


def _array_item(kind: str) -> np.dtype:
    """One element of a binary array: its length, then its value."""
    return np.dtype([("len", ">i4"), ("v", kind)])


def _binary_copy_data(rows: FaceRows, model: str = MODEL) -> bytes:
    """PostgreSQL binary COPY data for `rows` (header, fixed-size tuples, trailer), built with numpy."""
    n, dim = rows.embedding.shape
    model_bytes = model.encode()
    array_header = np.dtype([("ndim", ">i4"), ("hasnull", ">i4"), ("oid", ">u4"), ("dim", ">i4"), ("lbound", ">i4")])
    tuple_type = np.dtype([
        ("nfields", ">i2"),
        ("picture_len", ">i4"), ("picture_id", ">i8"),
        ("model_len", ">i4"), ("model", f"S{len(model_bytes)}"),
        ("box_len", ">i4"), ("box_header", array_header), ("box", _array_item(">i4"), (4,)),
        ("landmarks_len", ">i4"), ("landmarks_header", array_header), ("landmarks", _array_item(">f4"), (10,)),
        ("score_len", ">i4"), ("score", ">f4"),
        ("embedding_len", ">i4"), ("embedding_dim", ">i2"), ("embedding_unused", ">i2"), ("embedding", ">f4", (dim,)),
    ])  # fmt: skip
    t = np.zeros(n, tuple_type)
    t["nfields"] = 6
    t["picture_len"], t["picture_id"] = 8, rows.picture_id
    t["model_len"], t["model"] = len(model_bytes), model_bytes
    t["box_len"] = array_header.itemsize + 4 * 8
    t["box_header"] = (1, 0, _INT4_OID, 4, 1)
    t["box"]["len"], t["box"]["v"] = 4, rows.box
    t["landmarks_len"] = array_header.itemsize + 10 * 8
    t["landmarks_header"] = (1, 0, _FLOAT4_OID, 10, 1)
    t["landmarks"]["len"], t["landmarks"]["v"] = 4, rows.landmarks
    t["score_len"], t["score"] = 4, rows.score
    t["embedding_len"], t["embedding_dim"], t["embedding"] = 4 + 4 * dim, dim, rows.embedding
    header = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
    return header + t.tobytes() + b"\xff\xff"


def copy_binary(conn: psycopg2.extensions.connection, rows: FaceRows, model: str = MODEL) -> float:
    """COPY `rows` in binary format, COPY_CHUNK rows per statement, one transaction."""
    start = time.perf_counter()
    with conn.cursor() as cur:
        for i in range(0, len(rows), COPY_CHUNK):
            data = _binary_copy_data(rows[i : i + COPY_CHUNK], model)
            cur.copy_expert(
                f"COPY faces ({FACE_COLUMNS}) FROM STDIN WITH (FORMAT binary)", io.BytesIO(data), size=1 << 20
            )
    conn.commit()
    return time.perf_counter() - start


def _text_copy_data(rows: FaceRows, model: str) -> str:
    vector_format = ",".join(["%.9g"] * rows.embedding.shape[1])  # 9 digits: float32 round-trips exactly
    lines = [
        f"{p}\t{model}\t{{{','.join(map(str, b))}}}\t{{{','.join(f'{x:.6g}' for x in lm)}}}\t{s:.6g}"
        f"\t[{vector_format % tuple(v)}]\n"
        for p, b, lm, s, v in zip(
            rows.picture_id.tolist(),
            rows.box.tolist(),
            rows.landmarks.tolist(),
            rows.score.tolist(),
            rows.embedding.tolist(),
        )
    ]
    return "".join(lines)


def copy_text(conn: psycopg2.extensions.connection, rows: FaceRows, model: str = MODEL) -> float:
    """COPY `rows` in text format (vectors as '[x,y,...]'), one transaction."""
    start = time.perf_counter()
    with conn.cursor() as cur:
        for i in range(0, len(rows), COPY_CHUNK):
            data = _text_copy_data(rows[i : i + COPY_CHUNK], model)
            cur.copy_expert(f"COPY faces ({FACE_COLUMNS}) FROM STDIN", io.StringIO(data), size=1 << 20)
    conn.commit()
    return time.perf_counter() - start


def _values(rows: FaceRows, model: str) -> list[tuple[object, ...]]:
    # Vectors as numpy arrays: pgvector's psycopg2 adapter (register_vector) turns them into vectors.
    return list(
        zip(
            rows.picture_id.tolist(),
            [model] * len(rows),
            rows.box.tolist(),
            rows.landmarks.tolist(),
            rows.score.tolist(),
            list(rows.embedding),
        )
    )


def insert_batches(
    conn: psycopg2.extensions.connection, rows: FaceRows, model: str = MODEL, page_size: int = 1000
) -> float:
    """INSERT with `execute_values`, `page_size` rows per statement, one transaction."""
    values = _values(rows, model)
    start = time.perf_counter()
    with conn.cursor() as cur:
        execute_values(cur, f"INSERT INTO faces ({FACE_COLUMNS}) VALUES %s", values, page_size=page_size)
    conn.commit()
    return time.perf_counter() - start


def insert_one_by_one(conn: psycopg2.extensions.connection, rows: FaceRows, model: str = MODEL) -> float:
    """One INSERT statement (one round trip) per face, one transaction."""
    values = _values(rows, model)
    start = time.perf_counter()
    with conn.cursor() as cur:
        for row in values:
            cur.execute(f"INSERT INTO faces ({FACE_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)", row)
    conn.commit()
    return time.perf_counter() - start
