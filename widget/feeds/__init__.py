"""Atom feeds of approved comments, /feeds: a site's newest, and one page's."""
from flask import Blueprint, request

from ..errors import ParleyError, error_json
from ..web.error_pages import error_page

bp = Blueprint("feeds", __name__, url_prefix="/feeds")


@bp.errorhandler(ParleyError)
def domain_error(error):
    """An unknown site or a bad page URL: the JSON error to a client that asks for JSON, else the error page."""
    if request.accept_mimetypes.best == "application/json":
        return error_json(error.status, error.code, error.message)
    title = "Feed not found" if error.status == 404 else "No feed for this address"
    # Not capitalised: the messages start with the names of query parameters ("url must be ...").
    return error_page(error.status, title, error.message if error.message.endswith(".") else error.message + ".")


from . import views  # noqa: E402,F401  (routes register themselves on bp)
