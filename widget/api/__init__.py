"""The JSON API, /api/v1."""
from flask import Blueprint, jsonify
from werkzeug.exceptions import HTTPException

from ..errors import ParleyError
from .cors import add_cors_headers

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def error_response(status, code, message):
    response = jsonify(error={"code": code, "message": message})
    response.status_code = status
    return response


@bp.errorhandler(ParleyError)
def domain_error(error):
    return error_response(error.status, error.code, error.message)


def http_error(error: HTTPException):
    """HTTP errors under /api as JSON; used by the app for routing errors too."""
    code = (error.name or "error").lower().replace(" ", "_")
    response = error_response(error.code or 500, code, error.description or error.name)
    if error.code == 405 and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


bp.register_error_handler(HTTPException, http_error)
bp.after_request(add_cors_headers)

from . import views  # noqa: E402,F401  (routes register themselves on bp)
