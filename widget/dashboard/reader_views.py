"""Readers' data, for administrators: everything stored about one reader, to download, erase or anonymise.

Administrators only: a reader's comments, likes and notifications span every site of the server,
and an owner or moderator only ever sees their own sites.
"""
import json

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required

from .. import privacy
from ..errors import InvalidInput, NotAllowed, ParleyError
from ..models import parse_id
from . import bp
from .access import actor, current_account


def _require_admin():
    account = current_account()
    if account is None or not account.is_admin:
        raise NotAllowed("only administrators can look up a reader's data: it spans every site of this server",
                         code="admin_only")


def _form(values):
    return {"email": values.get("email", "").strip()[:254], "user": values.get("user", "").strip()[:12]}


def _reader(form):
    """(email, user) the form names; InvalidInput when it names nobody, NotFound for an unknown account."""
    user = None
    if form["user"]:
        user_id = parse_id(form["user"])
        if user_id is None:
            raise InvalidInput("the account id is a whole number from 1", code="invalid_user")
        user = privacy.find_user(user_id)
    if not form["email"] and user is None:
        raise InvalidInput("give an email address, an account id, or both", code="missing_reader")
    return form["email"] or None, user


def _query(form):
    return {key: value for key, value in form.items() if value}


def _who(data):
    reader = data["reader"]
    return " and ".join(filter(None, [reader["email"], reader["account_id"] and f"account {reader['account_id']}"]))


@bp.get("/readers")
@login_required
def readers():
    _require_admin()
    form, data, error, status = _form(request.args), None, None, 200
    if form["email"] or form["user"]:
        try:
            data = privacy.reader_data(*_reader(form), secret_key=current_app.secret_key)
        except ParleyError as failure:
            error, status = failure.message, failure.status
    return render_template("dashboard/readers.html", form=form, query=_query(form), data=data, error=error,
                           who=data and _who(data), empty=data is not None and privacy.is_empty(data),
                           sites=privacy.per_site(data) if data else {},
                           erasures=privacy.recent_erasures()), status


@bp.get("/readers/export")
@login_required
def export_reader():
    _require_admin()
    email, user = _reader(_form(request.args))
    data = privacy.reader_data(email, user, secret_key=current_app.secret_key)
    response = current_app.response_class(json.dumps(data, ensure_ascii=False, indent=2) + "\n",
                                          mimetype="application/json")
    name = f"reader-{user.id}" if user is not None else "reader"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}-data.json"'
    return response


@bp.post("/readers/erase")
@login_required
def erase_reader():
    """The first POST asks to confirm, with what would go; the second (confirmed=yes) erases."""
    _require_admin()
    form = _form(request.form)
    mode = request.form.get("mode", "")
    back = url_for("dashboard.readers", **_query(form))
    try:
        if mode not in privacy.MODES:
            raise InvalidInput(f"mode is one of {', '.join(privacy.MODES)}", code="invalid_mode")
        email, user = _reader(form)
        if request.form.get("confirmed") != "yes":
            if user is not None:
                privacy.refuse_staff(user)
            data = privacy.reader_data(email, user)
            if privacy.is_empty(data):
                raise InvalidInput(f"nothing is stored about {_who(data)}: there is nothing to erase",
                                   code="nothing_stored")
            return render_template("dashboard/reader_erase.html", form=form, mode=mode, data=data, who=_who(data),
                                   sites=privacy.per_site(data), back=back)
        result = privacy.erase_reader(email, user, mode, actor())
    except ParleyError as failure:
        flash(failure.message[:1].upper() + failure.message[1:] + ".", "error")
        return redirect(back)
    if mode == "erase":
        done = (f"{result['removed']} comments deleted, {result['placeholders']} left as \"deleted\" placeholders "
                "where others had replied")
    else:
        done = f"{result['anonymised']} comments anonymised"
    flash(f"The reader's data is gone: {done}; {result['likes']} likes, {result['subscriptions']} subscriptions, "
          f"{result['notification_addresses']} notification addresses and {result['account']} account removed. "
          "The audit log keeps these counts only.", "success")
    return redirect(url_for("dashboard.readers"))
