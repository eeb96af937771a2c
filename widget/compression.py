"""gzip for text responses (HTML, JSON, SVG) when the browser accepts it."""
import gzip
import struct
import zlib

from flask import request

COMPRESSIBLE = {
    "text/html", "text/css", "text/plain", "text/javascript", "application/javascript",
    "application/json", "image/svg+xml", "application/atom+xml", "application/xml",
}
# Below this, the gzip header and the CPU cost more than the bytes saved.
MIN_SIZE = 512


def compress_response(response):
    """After every request: gzip a buffered text body for a client that accepts gzip."""
    if response.mimetype not in COMPRESSIBLE:
        return response
    response.vary.add("Accept-Encoding")
    if (
        response.direct_passthrough  # files streamed from disk (send_file)
        or response.is_streamed
        or "Content-Encoding" in response.headers  # already compressed (the widget's own files)
        or response.status_code < 200
        or response.status_code in (204, 206, 304)
        or request.accept_encodings["gzip"] <= 0
    ):
        return response
    body = response.get_data()
    if len(body) < MIN_SIZE:
        return response
    # The ETag stays as the view set it: the API compares it strongly to answer 304, and
    # Vary: Accept-Encoding keeps shared caches from mixing the two encodings.
    response.set_data(gzip.compress(body, compresslevel=6))
    response.headers["Content-Encoding"] = "gzip"
    return response


class SplicedPage:
    """A page stored once with a hole for a short per-request part (a form token), near its end.

    The part before the hole is compressed once and ends on a deflate flush boundary, so each
    response compresses only the hole and what follows it, and joins the pieces into one valid
    gzip stream: a big cached page costs microseconds, not a full gzip, and still differs per reader.
    """

    def __init__(self, prefix: bytes, suffix: bytes):
        self.prefix, self.suffix = prefix, suffix
        compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        self.prefix_deflated = compressor.compress(prefix) + compressor.flush(zlib.Z_SYNC_FLUSH)
        self.prefix_crc = zlib.crc32(prefix)
        self.size = len(prefix) * 2 + len(suffix) + len(self.prefix_deflated)

    def plain(self, hole: bytes) -> bytes:
        return self.prefix + hole + self.suffix

    def gzipped(self, hole: bytes) -> bytes:
        rest = hole + self.suffix
        compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        deflated = compressor.compress(rest) + compressor.flush(zlib.Z_FINISH)
        # RFC 1952: magic, deflate, no flags, no mtime, no extra flags, unknown OS; CRC-32 and size at the end.
        header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
        trailer = struct.pack("<II", zlib.crc32(rest, self.prefix_crc), (len(self.prefix) + len(rest)) & 0xFFFFFFFF)
        return header + self.prefix_deflated + deflated + trailer
