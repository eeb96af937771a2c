"""People: authors and their history on a site, and bans by user, email or IP address."""
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required

from .. import bans, moderation
from ..errors import ParleyError
from ..models import BAN_KINDS
from . import bp
from .access import actor, safe_next, site_for


@bp.get("/sites/<site_id>/people")
@login_required
def people(site_id):
    site = site_for(site_id)
    search = request.args.get("q", "").strip()[:200]
    return render_template("dashboard/people.html", site=site, rows=moderation.authors(site, search or None),
                           search=search)


def _author_page(site, comment, errors=None, form=None, status=200):
    history, counts = moderation.author_history(site, comment)
    return render_template(
        "dashboard/author.html", site=site, comment=comment, history=history, counts=counts,
        bans=bans.bans_of_author(site, comment, current_app.secret_key), errors=errors or {},
        form=form or {"reason": "", "days": "never"}, durations=bans.DURATIONS,
        actions=moderation.allowed_actions, labels=moderation.ACTION_LABELS), status


@bp.get("/sites/<site_id>/people/<int:comment_id>")
@login_required
def author(site_id, comment_id):
    """The author of a comment: everything they wrote on the site, and their bans."""
    site = site_for(site_id)
    return _author_page(site, moderation.get_comment(site, comment_id))


@bp.post("/sites/<site_id>/people/<int:comment_id>/ban")
@login_required
def ban_author(site_id, comment_id):
    site = site_for(site_id)
    comment = moderation.get_comment(site, comment_id)
    form = {"reason": request.form.get("reason", "")[:1000], "days": request.form.get("days", "never"),
            "kind": request.form.get("kind", "")}
    try:
        record = bans.ban_author_of(actor(), site, comment, form["kind"], current_app.secret_key,
                                    reason=form["reason"], days=bans.parse_duration(form["days"]))
    except ParleyError as failure:
        return _author_page(site, comment, {"ban": failure.message}, form, failure.status)
    flash(f"Banned {record.label or 'this author'} by {record.kind}"
          f"{' until ' + record.expires_at.strftime('%Y-%m-%d %H:%M') + ' UTC' if record.expires_at else ''}.",
          "success")
    return redirect(url_for("dashboard.author", site_id=site.public_id, comment_id=comment.id))


@bp.route("/sites/<site_id>/bans", methods=["GET", "POST"])
@login_required
def bans_page(site_id):
    site = site_for(site_id)
    errors, status = {}, 200
    form = {"kind": "email", "value": "", "reason": "", "days": "never", "label": ""}
    if request.method == "POST":
        form = {key: request.form.get(key, default)[:1000] for key, default in form.items()}
        options = {"reason": form["reason"], "label": form["label"]}
        try:
            options["days"] = bans.parse_duration(form["days"])
            if form["kind"] == "email":
                bans.ban_email(actor(), site, form["value"], current_app.secret_key, **options)
            elif form["kind"] == "ip":
                bans.ban_address(actor(), site, form["value"], current_app.secret_key, **options)
            else:
                raise ParleyError("Ban a logged-in user from their author page (People).", code="invalid_ban_kind")
        except ParleyError as failure:
            errors["form"], status = failure.message, failure.status
        else:
            flash("Banned. Their next comment is " + ("refused." if site.ban_action == "refuse" else
                                                       "held for review."), "success")
            return redirect(url_for("dashboard.bans_page", site_id=site.public_id))
    show_past = request.args.get("past") == "1"
    return render_template("dashboard/bans.html", site=site, bans=bans.site_bans(site, include_past=show_past),
                           show_past=show_past, form=form, errors=errors, durations=bans.DURATIONS,
                           kinds=BAN_KINDS), status


@bp.post("/sites/<site_id>/bans/<int:ban_id>/lift")
@login_required
def lift_ban(site_id, ban_id):
    site = site_for(site_id)
    bans.lift(actor(), site, ban_id)
    flash("The ban was lifted.", "success")
    return redirect(safe_next(request.form.get("next"), url_for("dashboard.bans_page", site_id=site.public_id)))
