"""Domain failures, each carrying the HTTP status and machine-readable code it maps to, and the JSON they become."""
from flask import jsonify


class ParleyError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message, code=None, status=None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status


class InvalidInput(ParleyError):
    status = 400
    code = "invalid_input"


class Unauthorized(ParleyError):
    status = 401
    code = "invalid_token"


class NotAllowed(ParleyError):
    status = 403
    code = "forbidden"


class NotFound(ParleyError):
    status = 404
    code = "not_found"


class Conflict(ParleyError):
    status = 409
    code = "conflict"


class TooLarge(ParleyError):
    status = 413
    code = "too_large"


class UnsupportedMediaType(ParleyError):
    status = 415
    code = "unsupported_media_type"


class TooManyAttempts(ParleyError):
    status = 429
    code = "too_many_attempts"


def error_json(status, code, message):
    """The one error shape of every JSON answer: {"error": {"code", "message"}}."""
    response = jsonify(error={"code": code, "message": message})
    response.status_code = status
    return response


def http_error_code(error):
    """A machine-readable code for a Werkzeug HTTP error: "Method Not Allowed" -> "method_not_allowed"."""
    return (error.name or "error").lower().replace(" ", "_")
