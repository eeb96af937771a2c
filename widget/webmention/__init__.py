"""Webmention receiving (W3C Recommendation): /webmention/<site> takes a source and a target, and
/webmention/<site>/status/<token> says what became of them. Answers are JSON; errors the API's shape."""
from flask import Blueprint
from flask_limiter import RateLimitExceeded
from werkzeug.exceptions import HTTPException

from ..errors import ParleyError, error_json, http_error_code
from ..web import rate_limits

bp = Blueprint("webmention", __name__, url_prefix="/webmention")


@bp.errorhandler(ParleyError)
def domain_error(error):
    return error_json(error.status, error.code, error.message)


@bp.errorhandler(HTTPException)
def http_error(error):
    if isinstance(error, RateLimitExceeded):
        seconds = rate_limits.retry_after()
        response = error_json(429, "rate_limited", rate_limits.describe(error, seconds))
        response.headers["Retry-After"] = str(seconds)
        return response
    if not error.code or error.code < 400:
        return error
    return error_json(error.code, http_error_code(error), error.description or error.name)


from . import views  # noqa: E402,F401  (routes register themselves on bp)
