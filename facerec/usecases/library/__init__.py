"""The photo library: indexing folders, finding a person in it (from a photo or from their
samples), recognising the faces of a photo, uploads, thumbnails, albums, re-embedding,
and the counts."""
