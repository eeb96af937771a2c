"""Log lines (text, or JSON with PARLEY_LOG_FORMAT=json) and request ids: each request carries one, taken
from a sane incoming X-Request-ID or made here, sent back in the response's X-Request-ID, and written
on every line logged while it runs."""
import json
import logging
import re
import sys
import uuid
from datetime import UTC, datetime

from flask import has_request_context, request

HEADER = "X-Request-ID"
ENVIRON_KEY = "parley.request_id"
# What a proxy or load balancer may hand on: a UUID, a hex or base64-ish token. Anything else (too long,
# spaces, control characters that could forge log lines) is replaced by one of ours.
SANE_ID = re.compile(r"^[A-Za-z0-9._:+/=-]{8,128}$")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
# Loggers told at INFO: the app's own (its start-up settings, 5xx) and the schema migrations on start.
INFO_LOGGERS = ("widget", "alembic.runtime.migration")


class RequestIds:
    """WSGI layer, outermost: every answer, even one the read cache gives, carries the request's id."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if SANE_ID.match(incoming) else uuid.uuid4().hex
        environ[ENVIRON_KEY] = request_id

        def start_with_id(status, headers, exc_info=None):
            headers = [(name, value) for name, value in headers if name.lower() != HEADER.lower()]
            headers.append((HEADER, request_id))
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start_with_id)


def current_request_id():
    """The id of the request being handled, or None outside a request."""
    return request.environ.get(ENVIRON_KEY) if has_request_context() else None


class _RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.request_id = current_request_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request_id, and the traceback if any."""

    def format(self, record):
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) if getattr(record, "request_id", "-") != "-" else None,
        }
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class _Handler(logging.StreamHandler):
    """This server's handler on the root logger; one per process however many apps are made."""


def init_app(app):
    """Send log lines to standard error in the configured format, with request ids."""
    log_format = str(app.config["LOG_FORMAT"]).lower()
    if log_format not in {"text", "json"}:
        raise ValueError(f"PARLEY_LOG_FORMAT must be text or json, not {log_format!r}")
    root = logging.getLogger()
    for old in [handler for handler in root.handlers if isinstance(handler, _Handler)]:
        root.removeHandler(old)
    handler = _Handler(sys.stderr)
    handler.addFilter(_RequestIdFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    for name in INFO_LOGGERS:
        if logging.getLogger(name).level == logging.NOTSET:
            logging.getLogger(name).setLevel(logging.INFO)


def add_request_ids(app):
    """Give every request an id and every response its X-Request-ID: call it after every other WSGI layer."""
    app.wsgi_app = RequestIds(app.wsgi_app)
