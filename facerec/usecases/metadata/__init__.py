"""Names that travel with the photos (issue 23): names read from face regions while
indexing (`names_in`), written into XMP sidecars (`export`), and brought in from
Google Takeout and Picasa folders (`importing`)."""
