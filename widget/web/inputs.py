"""Parsing and checking what clients send: allow-listed fields, typed, bounded."""
import json
import re

from flask import request

from ..emails import is_email
from ..errors import InvalidInput, UnsupportedMediaType
from ..models import MAX_ID
from ..urls import is_web_url

# C0 controls other than tab, newline and carriage return have no place in a comment.
BODY_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
LINE_CONTROLS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def json_object():
    """The request's JSON object, refusing other content types and bad JSON (web/schema.py checks its fields)."""
    mimetype = request.mimetype
    if mimetype != "application/json":
        raise UnsupportedMediaType("send the request body as JSON with Content-Type: application/json")
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise InvalidInput("the request body is empty; send a JSON object", code="empty_request")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidInput("the request body is not valid JSON", code="malformed_json") from None
    if not isinstance(data, dict):
        raise InvalidInput("the request body must be a JSON object", code="malformed_json")
    return data


def _is_encodable(value):
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def text(value, field, max_length, required=False, multiline=False, strip=True):
    """A string field: type, encoding, control characters and length checked; None when absent."""
    if value is None:
        if required:
            raise InvalidInput(f"{field} is required", code=f"missing_{field}")
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string", code=f"invalid_{field}")
    within_length(value, field, max_length)
    controls = BODY_CONTROLS if multiline else LINE_CONTROLS
    if not _is_encodable(value) or controls.search(value):
        raise InvalidInput(f"{field} contains characters that are not allowed", code=f"invalid_{field}")
    if strip:
        value = value.strip()
    if not value:
        if required:
            raise InvalidInput(f"{field} is required", code=f"missing_{field}")
        return None
    return value


def within_length(value, field, max_length):
    if len(value) > max_length:
        raise InvalidInput(f"{field} is {len(value)} characters long; the limit is {max_length}",
                           code=f"{field}_too_long")


def identifier(value, field):
    """A positive database id given in JSON or a path."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON does not tell 7 from 7.0, and JSON Schema calls both an integer
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_ID:
        raise InvalidInput(f"{field} must be a positive whole number", code=f"invalid_{field}")
    return value


def web_url(value, field, max_length):
    value = text(value, field, max_length)
    if value is not None and not is_web_url(value):
        raise InvalidInput(f"{field} must be an http or https URL", code=f"invalid_{field}")
    return value


def email(value, field="email"):
    value = text(value, field, 254, required=True)
    if not is_email(value):
        raise InvalidInput(f"{field} is not an email address", code=f"invalid_{field}")
    return value


def choice(value, field, options):
    if value not in options:
        shown = ", ".join("null" if o is None else o for o in options)
        raise InvalidInput(f"{field} must be one of {shown}", code=f"invalid_{field}")
    return value


def query_arg(name, max_length=2048, required=False):
    """A single query-string argument."""
    values = request.args.getlist(name)
    if len(values) > 1:
        raise InvalidInput(f"give {name} once", code=f"invalid_{name}")
    return text(values[0] if values else None, name, max_length, required=required)
