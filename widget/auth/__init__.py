"""Social login popups (/auth/login/<provider>, /auth/callback/<provider>) and the bearer-token loader."""
import re

from flask import Blueprint, abort, current_app, render_template, request, session

from .. import readers
from ..database import writes
from ..errors import ParleyError
from ..extensions import db, login_manager
from ..models import User, parse_id
from ..sites import get_site
from ..web import providers
from ..web.error_pages import error_page
from ..web.headers import POPUP_POLICY, secure_html
from ..web.public_url import own_origin, public_url_for

bp = Blueprint("auth", __name__, url_prefix="/auth")
SECRET_HASH = re.compile(r"^[0-9a-f]{64}$")


@login_manager.request_loader
def user_from_bearer_token(req):
    """The widget and API authenticate with `Authorization: Bearer <token>`, never a cookie."""
    if req.blueprint == "dashboard":
        # A reader's widget token (kept in a third-party frame) never opens the dashboard.
        return None
    token = readers.bearer_token(req.headers.get("Authorization"))
    return readers.user_for_token(token) if token else None


@login_manager.user_loader
def user_from_session(user_id):
    # The API never trusts a cookie (that would invite cross-site request forgery): bearer tokens only.
    if request.blueprint == "api":
        return None
    user_id = parse_id(user_id)
    return db.session.get(User, user_id) if user_id else None


@bp.after_request
def popup_headers(response):
    # The callback URL carries the provider's code and state: never send it on as a Referer.
    secure_html(response, POPUP_POLICY, referrer="no-referrer")
    response.headers["Cache-Control"] = "no-store"
    return response


def _popup(status=200, *, issued=None, error=None, provider=None, user=None, site=None):
    """The page the popup ends on: it hands the outcome to the frame that opened it, or shows the pairing code."""
    message = {"origin": own_origin(), "code": issued and issued.code, "error": error and error.reason,
               "message": error and error.message}
    pairing = issued and issued.pairing_code and readers.format_pairing_code(issued.pairing_code)
    return render_template("auth/popup.html", message=message, error=error, provider=provider, user=user,
                           pairing_code=pairing, site=site), status


def _site_named(public_id):
    try:
        return get_site(public_id) if public_id else None
    except ParleyError:
        return None


@bp.get("/login/<name>")
@writes  # a provider that cannot be reached is recorded for the frame to collect
def login(name):
    available = providers.available(current_app)
    if name not in available:
        abort(404, description=f"Login with {name!r} is not offered on this server.")
    secret_hash = request.args.get("s", "")
    if not SECRET_HASH.match(secret_hash):
        abort(400, description="This login link is incomplete. Start again from the comment form.")
    site_id = request.args.get("site")
    if site_id:
        try:
            site = get_site(site_id)
        except ParleyError as error:
            abort(404, description=error.message)
        if site.providers is not None and name not in site.providers:
            abort(403, description=f"{available[name].label} login is not enabled for this site.")
    session["parley_login"] = {"s": secret_hash, "provider": name, "site": site_id or None}
    try:
        return providers.start_login(current_app, name, public_url_for("auth.callback", name=name))
    except providers.ProviderError as error:
        readers.issue_login_code(secret_hash, error=error.reason)
        return _popup(502, error=error, provider=available[name])


@bp.get("/callback/<name>")
@writes  # the reader's account and the login code
def callback(name):
    available = providers.available(current_app)
    if name not in available:
        abort(404, description=f"Login with {name!r} is not offered on this server.")
    pending = session.pop("parley_login", None)
    if pending and pending.get("for"):
        # Started by another surface for its own purpose (the dashboard's log in, invitation, link).
        finish = providers.purpose_finisher(current_app, pending["for"])
        if finish and pending.get("provider") == name:
            return finish(name, pending)
        pending = None
    if not pending or pending.get("provider") != name:
        # No popup of ours started this login here: nothing to bind the outcome to.
        return _popup(400, error=providers.ProviderError("state"), provider=available[name])
    try:
        profile = providers.finish_login(current_app, name, request.args)
    except providers.ProviderError as error:
        readers.issue_login_code(pending["s"], error=error.reason)
        return _popup(400 if error.reason in ("state", "cancelled") else 502, error=error,
                      provider=available[name])
    user = readers.sign_in(profile)
    issued = readers.issue_login_code(pending["s"], user=user)
    return _popup(issued=issued, provider=available[name], user=user, site=_site_named(pending.get("site")))


@bp.errorhandler(400)
@bp.errorhandler(403)
@bp.errorhandler(404)
def popup_error(error):
    return error_page(error.code, "Login problem", error.description, closes_popup=True)
