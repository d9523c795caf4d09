"""The file name endings of the videos facerec reads, without importing a decoder
(the index walk and the web page need the list, not PyAV)."""

from __future__ import annotations

VIDEO_SUFFIXES = frozenset(
    {
        ".mp4",
        ".mov",  # iPhone (H.264, HEVC 8/10-bit), cameras
        ".m4v",
        ".3gp",  # older and budget phones (H.263, H.264)
        ".3g2",
        ".mkv",
        ".webm",  # VP8/VP9/AV1 (browsers, screen recorders)
        ".avi",  # MJPEG, MPEG-4 part 2 (compact cameras, old phones)
        ".mts",  # AVCHD camcorders (H.264 in MPEG-TS)
        ".m2ts",
        ".mpg",  # MPEG-1/2 (DVD rips, old camcorders)
        ".mpeg",
        ".wmv",
    }
)
"""File name endings (lower case) of the videos facerec reads; each is tested with a real clip."""
