"""The moderation dashboard, /dashboard: first-party pages behind a session login, CSRF-checked forms."""
from flask import Blueprint, current_app, g, redirect, request, session, url_for
from flask_limiter import RateLimitExceeded
from flask_login import current_user, logout_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from .. import staff
from ..errors import ParleyError, error_json
from ..extensions import csrf, db, login_manager
from ..web.error_pages import error_page, rate_limited
from ..web.headers import DASHBOARD_POLICY, secure_html

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# Forms that take a file, and the setting that bounds it; every other body keeps MAX_CONTENT_LENGTH.
UPLOADS = {"dashboard.import_page": "IMPORT_MAX_BYTES"}


@bp.record_once
def publish_uploads(state):
    # The server's worker reads each request's body before the app sees it, and refuses a large one unless its
    # form takes a file (widget/gunicorn_worker.py): it reads which forms do, and what bounds them, here.
    state.app.extensions["parley.uploads"] = UPLOADS


login_manager.blueprint_login_views = {"dashboard": "dashboard.login"}
login_manager.login_message = "Please log in to open that page."
login_manager.login_message_category = "info"


def _session_account():
    """The dashboard account of this session; None when logged out, or ended elsewhere (password changed,
    "log out everywhere"), or no longer a member of anything."""
    if not current_user.is_authenticated:
        return None
    account = staff.account_of(current_user)
    if (account is None or session.get("dashboard_epoch") != account.session_epoch
            or not staff.dashboard_allowed(account)):
        return None
    return account


@bp.before_app_request
def allow_uploads():
    """A form that takes a file may send more than MAX_CONTENT_LENGTH, if the sender may use it there.

    An app-wide hook, so that it runs before anything reads the body (the NUL guard does, for every form);
    anyone else's large body is refused before it is read.
    """
    upload = UPLOADS.get(request.endpoint or "")
    if upload and request.method == "POST":
        if access.may_manage((request.view_args or {}).get("site_id"), _session_account()):
            request.max_content_length = current_app.config[upload]
        # A file may take minutes to arrive. It is read now, with the check's transaction ended, so that no
        # transaction (on SQLite, no write lock, which every other write waits for) is open while it comes.
        db.session.rollback()
        try:
            request.files  # noqa: B018 - parses the form, the file into a temporary file
        except RequestEntityTooLarge:
            pass  # the form says so (check_request)


@bp.before_request
def check_request():
    # Who is acting, read once here and passed on by every check and view of this request.
    g.account = _session_account()
    if current_user.is_authenticated and g.account is None:
        logout_user()
        session.pop("dashboard_epoch", None)
    if request.method not in SAFE_METHODS:
        try:
            csrf.protect()  # every form and action carries the session's token, or is refused with 400
        except RequestEntityTooLarge:
            if request.endpoint not in UPLOADS:
                raise
            g.upload_too_large = True  # the form says so; nothing was read, so the view does nothing else


@bp.after_request
def security_headers(response):
    secure_html(response, DASHBOARD_POLICY)
    response.headers["X-Frame-Options"] = "DENY"
    # Moderation pages hold private data (emails, held comments): never kept by a cache or the back button.
    response.headers["Cache-Control"] = "no-store"
    return response


def sentence(message):
    """A service's message as a sentence for a page: capitalised, with a full stop."""
    message = message[:1].upper() + message[1:]
    return message if message.endswith((".", "!", "?")) else message + "."


def wants_json():
    return request.accept_mimetypes.best == "application/json"


def _error_page(status, title, message):
    if wants_json():
        return error_json(status, title.lower().replace(" ", "_"), message)
    return error_page(status, title, message, back={"url": url_for("dashboard.home"), "label": "Back to the dashboard"})


@bp.errorhandler(CSRFError)
def csrf_refused(error):
    return _error_page(400, "Form expired",
                       "This form was not sent from an open dashboard page, or the page is too old. "
                       "Go back, reload the page and try again.")


@bp.errorhandler(ParleyError)
def domain_error(error):
    titles = {403: "Not allowed", 404: "Not found", 409: "Conflict", 429: "Too many attempts"}
    return _error_page(error.status, titles.get(error.status, "Cannot do that"), sentence(error.message))


@bp.errorhandler(HTTPException)
def http_error(error):
    if isinstance(error, RateLimitExceeded):
        return rate_limited(error)
    if error.code == 401:
        return redirect(url_for("dashboard.login", next=request.full_path if request.method == "GET" else None))
    return _error_page(error.code or 500, error.name, error.description or error.name)


# The views register their routes on bp; check_request uses access.
from . import (  # noqa: E402,F401
    access,
    account_views,
    import_views,
    moderation_views,
    people_views,
    reader_views,
    site_views,
    webhook_views,
)
