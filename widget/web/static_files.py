"""/static/...: every URL the server writes names its file's fingerprint (?v=), and only such a URL is
cached for good; the same path without it, or with an old fingerprint, is revalidated on each use."""
import hashlib
import threading
from pathlib import Path

from flask import request
from werkzeug.security import safe_join

YEAR = 31_536_000


class Fingerprints:
    """Short content hashes of the static files, read again when a file changes on disk."""

    def __init__(self, folder):
        self.folder = str(folder)
        self._known = {}
        self._lock = threading.Lock()

    def of(self, filename):
        found = safe_join(self.folder, filename)
        if found is None:
            return None
        try:
            stat = Path(found).stat()
        except OSError:
            return None
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            known = self._known.get(filename)
        if known and known[0] == stamp:
            return known[1]
        digest = hashlib.sha256(Path(found).read_bytes()).hexdigest()[:16]
        with self._lock:
            self._known[filename] = (stamp, digest)
        return digest


def init_app(app):
    fingerprints = Fingerprints(app.static_folder)

    @app.url_defaults
    def add_fingerprint(endpoint, values):
        if endpoint == "static" and "v" not in values and (version := fingerprints.of(values.get("filename", ""))):
            values["v"] = version

    @app.after_request
    def cache_static(response):
        if request.endpoint == "static" and response.status_code in (200, 304):
            version = request.args.get("v")
            if version and version == fingerprints.of((request.view_args or {}).get("filename", "")):
                response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
            else:
                response.headers["Cache-Control"] = "no-cache"
        return response
