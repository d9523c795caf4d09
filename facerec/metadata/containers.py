"""The XMP packet inside a JPEG or PNG file, taken out and put back byte-exactly.

Writing a photo's XMP through libexiv2 rewrites every metadata block of the file
(measured on a JPEG: its EXIF, IPTC and comment segments came back re-encoded and
reordered). To change *only* the XMP, facerec splices the packet itself: in a JPEG
the APP1 segment named `http://ns.adobe.com/xap/1.0/`, in a PNG the `iTXt` chunk
with keyword `XML:com.adobe.xmp`. Every other byte of the file is kept, so the
pixels, EXIF, ICC profile and the rest are identical.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

JPEG_XMP = b"http://ns.adobe.com/xap/1.0/\x00"
JPEG_EXTENDED_XMP = b"http://ns.adobe.com/xmp/extension/\x00"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_XMP_KEYWORD = b"XML:com.adobe.xmp"
MAX_JPEG_SEGMENT = 65535  # a segment's 16-bit length field counts its own two bytes


@dataclass(frozen=True)
class Embedded:
    """Where a photo keeps its XMP: `kind` ('jpeg' or 'png'), the packet (None when the
    photo has none), its byte span in the file (or where a new one goes), and whether
    the packet continues in JPEG "extended XMP" segments."""

    kind: str
    packet: bytes | None
    start: int
    end: int
    extended: bool = False


class ContainerError(ValueError):
    """The file is not a well-formed JPEG or PNG (the caller names the file)."""


def container_kind(data: bytes) -> str | None:
    """'jpeg', 'png', or None for any other format."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == PNG_SIGNATURE:
        return "png"
    return None


def find_xmp(data: bytes) -> Embedded | None:
    """The XMP of a JPEG or PNG; None for other formats."""
    kind = container_kind(data)
    if kind == "jpeg":
        return _find_jpeg(data)
    if kind == "png":
        return _find_png(data)
    return None


def replace_xmp(data: bytes, where: Embedded, packet: bytes) -> bytes:
    """`data` with its XMP packet replaced by `packet` (or added), nothing else changed."""
    if where.kind == "jpeg":
        body = JPEG_XMP + packet
        if len(body) + 2 > MAX_JPEG_SEGMENT:
            raise ContainerError(f"the XMP packet is too large for one JPEG segment ({len(packet):,} bytes)")
        block = b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body
    else:
        chunk = PNG_XMP_KEYWORD + b"\x00\x00\x00\x00\x00" + packet  # no compression, no language
        block = struct.pack(">I", len(chunk)) + b"iTXt" + chunk + struct.pack(">I", zlib.crc32(b"iTXt" + chunk))
    return data[: where.start] + block + data[where.end :]


def _find_jpeg(data: bytes) -> Embedded:
    pos = 2
    insert_at = 2  # after SOI, and after any APP0 / APP1 segments that lead the file
    found: tuple[int, int, bytes] | None = None
    extended = False
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise ContainerError(f"not a well-formed JPEG (no segment marker at byte {pos})")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD9, 0xDA):  # EOI, start of scan: no metadata after this
            break
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        end = pos + 2 + length
        if length < 2 or end > len(data):
            raise ContainerError(f"not a well-formed JPEG (a segment at byte {pos} runs past the end)")
        body = data[pos + 4 : end]
        if marker == 0xE1 and body.startswith(JPEG_XMP) and found is None:
            found = (pos, end, body[len(JPEG_XMP) :])
        elif marker == 0xE1 and body.startswith(JPEG_EXTENDED_XMP):
            extended = True
        if marker in (0xE0, 0xE1) and insert_at == pos:
            insert_at = end
        pos = end
    if found is None:
        return Embedded("jpeg", None, insert_at, insert_at, extended)
    start, end, packet = found
    return Embedded("jpeg", packet, start, end, extended)


def _find_png(data: bytes) -> Embedded:
    pos = len(PNG_SIGNATURE)
    insert_at: int | None = None
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        ctype = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise ContainerError(f"not a well-formed PNG (the {ctype!r} chunk runs past the end)")
        if ctype == b"iTXt":
            chunk = data[pos + 8 : pos + 8 + length]
            keyword, _, rest = chunk.partition(b"\x00")
            if keyword == PNG_XMP_KEYWORD:
                return Embedded("png", _itxt_text(rest), pos, end)
        if insert_at is None and ctype in (b"IDAT", b"IEND"):
            insert_at = pos
        if ctype == b"IEND":
            break
        pos = end
    if insert_at is None:
        raise ContainerError("not a well-formed PNG (no image data)")
    return Embedded("png", None, insert_at, insert_at)


def _itxt_text(rest: bytes) -> bytes:
    """The text of an iTXt chunk after its keyword: compression flag and method,
    language tag, translated keyword, then the (maybe zlib-compressed) UTF-8 text."""
    if len(rest) < 2:
        raise ContainerError("not a well-formed PNG (a truncated iTXt chunk)")
    compressed = rest[0] == 1
    _language, _, rest = rest[2:].partition(b"\x00")
    _translated, _, text = rest.partition(b"\x00")
    if compressed:
        try:
            return zlib.decompress(text)
        except zlib.error as exc:
            raise ContainerError(f"not a well-formed PNG (its XMP cannot be decompressed: {exc})") from None
    return text
