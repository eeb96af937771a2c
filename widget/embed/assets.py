"""The loader and the widget's static files, read once and gzipped ahead: pure functions, no Flask."""
import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

from rcssmin import cssmin
from rjsmin import jsmin

from .bundler import bundle

MIMETYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
# The minifiers, rjsmin and rcssmin, both read strings, template literals and regular expressions
# as tokens, so only comments and whitespace go; a regex over the text cannot tell
# `content: "a > b"` from a child combinator. rjsmin reads template literals unnested only: a
# backtick inside a `${}` would be mangled, so the bundler refuses one.

# The widget's modules reach readers as one file, bundled from the entry module: one request,
# and one gzip stream that shares its dictionary across modules (about 2 KB less than 8 files).
ENTRY = "thread.js"
BUNDLE = "widget.js"


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes
    mimetype: str
    etag: str


@dataclass(frozen=True)
class Bundle:
    """The widget's files under one version: the hash of all of them, so the URLs change together."""

    version: str
    files: dict  # relative path -> Asset


def make_asset(body, mimetype):
    # mtime=0 keeps the gzipped bytes (and so the sizes and ETags) the same on every start.
    return Asset(body, gzip.compress(body, 9, mtime=0), mimetype, hashlib.sha256(body).hexdigest()[:20])


def build_loader(static_dir):
    """embed.js as served, minified. It carries no words: the count API says counts in the page's language."""
    source = (Path(static_dir) / "embed.js").read_text(encoding="utf-8")
    return make_asset(jsmin(source).encode(), MIMETYPES[".js"])


def build_widget(static_dir):
    """widget.js bundled from the modules under static/widget/, its CSS files, and the version naming them all."""
    root = Path(static_dir) / "widget"
    bundled = bundle(root, ENTRY)
    files = {BUNDLE: make_asset(jsmin(bundled.text).encode("utf-8"), MIMETYPES[".js"])}
    for path in sorted(p for p in root.rglob("*.css") if p.is_file()):
        body = cssmin(path.read_text(encoding="utf-8")).encode("utf-8")
        files[path.relative_to(root).as_posix()] = make_asset(body, MIMETYPES[".css"])
    digest = hashlib.sha256()
    for name, asset in sorted(files.items()):
        digest.update(name.encode() + b"\0" + asset.body + b"\0")
    # The sources too: an edit the minifier drops (a comment) still names a new version.
    for path in bundled.sources:
        digest.update(path.relative_to(root.resolve()).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return Bundle(digest.hexdigest()[:12], files)


def fingerprint(*paths):
    """A short hash of files' contents (templates, catalogues): part of the embed page's ETag."""
    digest = hashlib.sha256()
    for path in sorted(Path(p) for p in paths):
        digest.update(path.as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]
