"""Logging in and out, accepting invitations, and the user's own account page."""
from datetime import timedelta

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, logout_user
from flask_wtf.csrf import validate_csrf
from wtforms import ValidationError

from .. import memberships, staff
from ..errors import InvalidInput, NotAllowed, ParleyError
from ..extensions import db
from ..models import Identity
from ..web import providers
from ..web.rate_limits import client_address
from . import bp, social
from .access import current_account, safe_next


def _password_login(email, password):
    """staff.password_login with this server's limits, this request's address and its device cookie."""
    config = current_app.config
    limits = staff.LoginLimits(config["LOGIN_FAILURES_PER_ACCOUNT"], config["LOGIN_FAILURES_PER_ADDRESS"],
                               config["LOGIN_FAILURES_ACCOUNT_WIDE"], timedelta(minutes=config["LOGIN_WINDOW_MINUTES"]))
    device = staff.device_from_token(current_app.secret_key, request.cookies.get(social.DEVICE_COOKIE),
                                     max_age=int(timedelta(days=config["LOGIN_DEVICE_DAYS"]).total_seconds()))
    return staff.password_login(email, password, address=client_address(), secret_key=current_app.secret_key,
                                limits=limits, device=device, hash_method=config["PASSWORD_HASH_METHOD"])


def _providers():
    return list(providers.available(current_app).values())


@bp.get("/")
@login_required
def home():
    found = memberships.sites_for(current_account())
    if len(found) == 1:
        return redirect(url_for("dashboard.site", site_id=found[0][0].public_id))
    return redirect(url_for("dashboard.sites"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_url = safe_next(request.values.get("next"), url_for("dashboard.home"))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(next_url)
    error, status, email = None, 200, ""
    if request.method == "POST":
        email = request.form.get("email", "")[:254]
        try:
            account = _password_login(email, request.form.get("password", ""))
            if not staff.dashboard_allowed(account):
                raise NotAllowed("This account has no site to moderate any more. Ask an administrator.")
        except ParleyError as failure:
            error, status = failure.message, failure.status
        else:
            social.log_in(account.user)
            return redirect(next_url)
    return render_template("dashboard/login.html", error=error, email=email, next=next_url,
                           providers=_providers()), status


@bp.get("/login/with/<name>")
def login_with(name):
    return social.start(name, "dashboard", next=safe_next(request.args.get("next"), None))


@bp.post("/logout")
def logout():
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("dashboard.login"))


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def invitation(token):
    invitation = memberships.open_invitation(token)
    errors, status, form = {}, 200, {}
    if request.method == "POST":
        form = {"email": request.form.get("email", "")[:254], "name": request.form.get("name", "")[:100]}
        try:
            user = _invitee(form)
        except ParleyError as failure:
            errors["form"], status = failure.message, failure.status
        else:
            membership = memberships.accept(invitation, user)
            social.log_in(user)
            flash(f"Welcome! You are now a {membership.role} of {invitation.site.name}.", "success")
            return redirect(url_for("dashboard.site", site_id=invitation.site.public_id))
    return render_template("dashboard/invitation.html", invitation=invitation, token=token, errors=errors,
                           form=form, providers=_providers()), status


def _invitee(form):
    """Who accepts: the logged-in user, an existing password account, or a new one."""
    if current_user.is_authenticated and request.form.get("as") == "current":
        return current_user._get_current_object()
    password = request.form.get("password", "")
    account = staff.account_by_email(form["email"]) if form["email"] else None
    if account is not None:
        # Proving they own the account: the same rate limits as the login form.
        return _password_login(form["email"], password).user
    if password != request.form.get("confirm", ""):
        raise InvalidInput("The two passwords differ.")
    return staff.create_account(form["email"], password, name=form["name"],
                                hash_method=current_app.config["PASSWORD_HASH_METHOD"]).user


@bp.get("/invitations/<token>/with/<name>")
def invitation_with(token, name):
    memberships.open_invitation(token)
    return social.start(name, "invite", token=token)


@bp.get("/account")
@login_required
def account():
    account = current_account()
    identity = db.session.scalar(db.select(Identity).where(Identity.user_id == current_user.id))
    linked = providers.available(current_app).get(identity.provider) if identity else None
    return render_template("dashboard/account.html", account=account, identity=identity, linked=linked,
                           providers=_providers(), roles=memberships.sites_for(account), errors={})


@bp.get("/account/link/<name>")
@login_required
def link(name):
    # A GET (a form's redirect to the provider would trip form-action), so it carries the CSRF token itself:
    # otherwise another site could link its own provider login to this account.
    try:
        validate_csrf(request.args.get("csrf_token"))
    except ValidationError:
        raise NotAllowed("This link has expired. Open your account page and try again.", code="csrf") from None
    return social.start(name, "link")


@bp.post("/account/password")
@login_required
def change_password():
    account = current_account()
    errors = {}
    if not account.email:
        raise NotAllowed("This account logs in with a provider only; it has no password to change.")
    if account.password_hash and not staff.check_password(account, request.form.get("current", "")):
        errors["current"] = "This is not your current password."
    elif request.form.get("password", "") != request.form.get("confirm", ""):
        errors["confirm"] = "The two new passwords differ."
    else:
        try:
            staff.set_password(account, request.form.get("password", ""), current_app.config["PASSWORD_HASH_METHOD"])
        except InvalidInput as failure:
            errors["password"] = failure.message
    if errors:
        identity = db.session.scalar(db.select(Identity).where(Identity.user_id == current_user.id))
        return render_template("dashboard/account.html", account=account, identity=identity, linked=None,
                               providers=_providers(), roles=memberships.sites_for(account),
                               errors=errors), 400
    social.log_in(account.user)  # this session goes on; every other one ended with the new password
    flash("Your password was changed. Other sessions were logged out.", "success")
    return redirect(url_for("dashboard.account"))


@bp.post("/account/sessions")
@login_required
def end_other_sessions():
    account = current_account()
    staff.end_sessions(account)
    social.log_in(account.user)
    flash("Every other session of your account was logged out.", "success")
    return redirect(url_for("dashboard.account"))
