"""gzip for text responses (HTML, JSON, SVG) when the browser accepts it."""
import gzip
from dataclasses import dataclass

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


@dataclass(frozen=True)
class StoredPage:
    """A page kept ready to send, plain and gzipped: a big cached page costs no compression per request."""

    plain: bytes
    gzipped: bytes

    @classmethod
    def of(cls, body: bytes) -> "StoredPage":
        return cls(body, gzip.compress(body, compresslevel=6, mtime=0))

    @property
    def size(self) -> int:
        return len(self.plain) + len(self.gzipped)
