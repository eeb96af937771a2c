"""Dashboard logins through the server's providers: the widget's login flow with a dashboard purpose."""
from datetime import timedelta

from flask import after_this_request, current_app, flash, redirect, request, session, url_for
from flask_login import current_user, login_user

from .. import memberships, readers, staff
from ..errors import ParleyError
from ..extensions import db
from ..models import Identity
from ..web import providers
from ..web.public_url import public_url_for
from . import bp, sentence
from .access import safe_next

# What a provider login started from the dashboard is for.
PURPOSES = ("dashboard", "invite", "link")
# Marks a browser that logged in to an account before: failed logins elsewhere never lock it out.
DEVICE_COOKIE = "parley_device"


@bp.record_once
def register_purposes(state):
    for purpose in PURPOSES:
        providers.register_purpose(state.app, purpose, finish_login)


def log_in(user):
    """Start a dashboard session for the user (a fresh session: nothing from before the login carries over)."""
    account = staff.account_of(user)
    session.clear()
    login_user(user)
    session.permanent = True
    session["dashboard_epoch"] = account.session_epoch
    device = staff.device_token(current_app.secret_key, account)

    @after_this_request
    def remember_device(response):
        response.set_cookie(DEVICE_COOKIE, device, max_age=timedelta(days=current_app.config["LOGIN_DEVICE_DAYS"]),
                            path=url_for("dashboard.home"), httponly=True, samesite="Strict",
                            secure=current_app.session_interface.get_cookie_secure(current_app))
        return response


def start(name, purpose, **extra):
    """Send the browser to the provider; the shared callback (auth.callback) comes back to finish_login."""
    if name not in providers.available(current_app):
        raise ParleyError(f"login with {name!r} is not offered on this server", code="unknown_provider", status=404)
    session["parley_login"] = {"provider": name, "for": purpose, **extra}
    try:
        return providers.start_login(current_app, name, public_url_for("auth.callback", name=name))
    except providers.ProviderError as error:
        session.pop("parley_login", None)
        flash(error.message, "error")
        return redirect(url_for("dashboard.login"))


def _existing_user(profile):
    identity = db.session.scalar(db.select(Identity).where(Identity.realm == profile.realm,
                                                           Identity.subject == profile.subject))
    return identity.user if identity else None


def finish_login(name, pending):
    """The provider came back: log in, accept the invitation, or link the login, as the dashboard asked."""
    purpose = pending.get("for")
    label = providers.available(current_app)[name].label
    back = url_for("dashboard.account") if purpose == "link" else url_for("dashboard.login")
    try:
        profile = providers.finish_login(current_app, name, request.args)
    except providers.ProviderError as error:
        flash(error.message, "error")
        return redirect(back)
    try:
        if purpose == "link":
            return _link(profile, label)
        if purpose == "invite":
            return _accept(profile, pending.get("token"))
        return _log_in_with(profile, label, pending.get("next"))
    except ParleyError as error:
        flash(sentence(error.message), "error")
        return redirect(back)


def _log_in_with(profile, label, next_url):
    user = _existing_user(profile)
    if user is None or not staff.dashboard_allowed(staff.account_of(user)):
        flash(f"This {label} login has no access to the dashboard. Ask a site owner for an invitation, "
              "or log in with your email and password.", "error")
        return redirect(url_for("dashboard.login"))
    user = readers.sign_in(profile)  # refreshes the name and picture from the provider
    log_in(user)
    return redirect(safe_next(next_url, url_for("dashboard.home")))


def _accept(profile, token):
    invitation = memberships.open_invitation(token)
    user = readers.sign_in(profile)
    membership = memberships.accept(invitation, user)
    log_in(user)
    flash(f"Welcome! You are now a {membership.role} of {invitation.site.name}.", "success")
    return redirect(url_for("dashboard.site", site_id=invitation.site.public_id))


def _link(profile, label):
    if not current_user.is_authenticated:
        flash("Log in first, then link your provider login from your account page.", "error")
        return redirect(url_for("dashboard.login"))
    account = staff.account_of(current_user)
    if account is None or session.get("dashboard_epoch") != account.session_epoch:
        flash("Your session has ended; log in again.", "error")
        return redirect(url_for("dashboard.login"))
    provider_user = readers.sign_in(profile)
    user = staff.link_identity(account, provider_user)
    log_in(user)
    flash(f"Linked: you can now also log in with {label}.", "success")
    return redirect(url_for("dashboard.account"))
