"""The JSON API, /api/v1."""
from flask import Blueprint
from werkzeug.exceptions import HTTPException

from ..errors import ParleyError, error_json
from ..web.error_pages import http_error
from .cors import add_cors_headers

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.errorhandler(ParleyError)
def domain_error(error):
    return error_json(error.status, error.code, error.message)


bp.register_error_handler(HTTPException, http_error)
bp.after_request(add_cors_headers)

from . import views  # noqa: E402,F401  (routes register themselves on bp)
