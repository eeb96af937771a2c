"""The queue, all comments, actions on one comment or many, moderator edits, and threads."""
from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import login_required

from .. import akismet_service, memberships, moderation, sites
from ..errors import InvalidInput, ParleyError
from ..extensions import db
from ..models import COMMENT_STATUSES, parse_id
from ..web.public_url import own_origin
from . import bp, sentence, wants_json
from .access import actor, page_count, page_number, safe_next, site_for

DONE = {"approve": "Approved", "spam": "Marked as spam", "delete": "Deleted", "restore": "Restored",
        "pin": "Pinned", "unpin": "Unpinned"}


def _comment_id(value):
    comment_id = parse_id(value)
    if comment_id is None:
        raise InvalidInput(f"not a comment number: {str(value)[:20]!r}", code="invalid_id")
    return comment_id


def _back(site, default_endpoint="dashboard.queue"):
    return safe_next(request.form.get("next"), url_for(default_endpoint, site_id=site.public_id))


@bp.get("/sites/<site_id>/queue")
@login_required
def queue(site_id):
    site = site_for(site_id)
    page = page_number()
    rows, total = moderation.queue(site, offset=(page - 1) * moderation.PAGE_SIZE)
    return render_template("dashboard/queue.html", site=site, rows=rows, total=total, page=page,
                           pages=page_count(total, moderation.PAGE_SIZE), actions=moderation.allowed_actions,
                           labels=moderation.ACTION_LABELS)


@bp.get("/sites/<site_id>/comments")
@login_required
def comments(site_id):
    site = site_for(site_id)
    filters = moderation.Filters.parse(request.args)
    page = page_number()
    rows, total = moderation.search(site, filters, offset=(page - 1) * moderation.PAGE_SIZE)
    return render_template("dashboard/comments.html", site=site, rows=rows, total=total, page=page,
                           pages=page_count(total, moderation.PAGE_SIZE), filters=filters,
                           statuses=COMMENT_STATUSES, actions=moderation.allowed_actions,
                           labels=moderation.ACTION_LABELS)


@bp.post("/sites/<site_id>/comments/<int:comment_id>/moderate")
@login_required
def moderate(site_id, comment_id):
    site = site_for(site_id)
    comment = moderation.get_comment(site, comment_id)
    action = request.form.get("action", "")
    was, key, sent = comment.status, site.akismet_key, comment.akismet_sent
    moderation.apply(actor(), site, comment, action, base_url=own_origin())
    db.session.commit()  # the report below may take seconds: hold no transaction meanwhile
    akismet_service.report_overrule(key, sent, was, action, current_app.config["AKISMET_ENDPOINT"])
    message = f"{DONE[action]}: comment by {comment.author_name or 'a removed author'}."
    if wants_json():
        return jsonify(id=comment.id, status=comment.status, pinned=comment.pinned, message=message,
                       actions=moderation.allowed_actions(comment), pending=moderation.pending_count(site))
    flash(message, "success")
    return redirect(_back(site))


@bp.post("/sites/<site_id>/comments/bulk")
@login_required
def bulk(site_id):
    site = site_for(site_id)
    ids = [_comment_id(value) for value in request.form.getlist("ids")]
    action = request.form.get("action", "")
    key, before = site.akismet_key, moderation.akismet_record(site, ids)
    try:
        changed, skipped = moderation.bulk(actor(), site, ids, action, base_url=own_origin())
    except InvalidInput as failure:
        flash(sentence(failure.message), "error")
        return redirect(_back(site))
    db.session.commit()  # the reports below may take seconds: hold no transaction meanwhile
    for comment_id in changed:
        was, sent = before[comment_id]
        akismet_service.report_overrule(key, sent, was, action, current_app.config["AKISMET_ENDPOINT"])
    message = f"{DONE[action]}: {len(changed)} comment{'s' if len(changed) != 1 else ''}."
    if skipped:
        message += f" {skipped} skipped (the action does not apply to them)."
    flash(message, "success")
    return redirect(_back(site))


def _comment_form(site_id, comment_id, template, save, first_body, saved):
    """A page with one Markdown box about one comment: `save(actor, site, comment, body)` on POST, then back."""
    site = site_for(site_id)
    comment = moderation.get_comment(site, comment_id)
    body, error, status = first_body(comment), None, 200
    back = safe_next(request.values.get("next"), url_for("dashboard.comments", site_id=site.public_id))
    if request.method == "POST":
        body = request.form.get("body", "")
        try:
            save(actor(), site, comment, body)
        except ParleyError as failure:
            error, status = failure.message, failure.status
        else:
            flash(saved(comment), "success")
            return redirect(back)
    return render_template(template, site=site, comment=comment, body=body, error=error, back=back), status


@bp.route("/sites/<site_id>/comments/<int:comment_id>/edit", methods=["GET", "POST"])
@login_required
def edit(site_id, comment_id):
    return _comment_form(site_id, comment_id, "dashboard/edit.html", moderation.edit, lambda c: c.body,
                         lambda c: "Saved. The comment is marked as edited by a moderator.")


@bp.route("/sites/<site_id>/comments/<int:comment_id>/reply", methods=["GET", "POST"])
@login_required
def reply(site_id, comment_id):
    """Answer a comment as yourself: the reply is published with your name and your role's badge."""
    return _comment_form(site_id, comment_id, "dashboard/reply.html", moderation.reply, lambda c: "",
                         lambda c: f"Replied to {c.author_name or 'the comment'}. Your reply is published.")


# Threads ---------------------------------------------------------------------------------------

@bp.get("/sites/<site_id>/threads")
@login_required
def threads(site_id):
    site = site_for(site_id)
    page = page_number()
    rows, total = moderation.threads(site, offset=(page - 1) * moderation.PAGE_SIZE)
    team = sorted(((user_id, name) for user_id, (_, name) in memberships.staff(site).items()), key=lambda t: t[1])
    return render_template("dashboard/threads.html", site=site, rows=rows, total=total, page=page,
                           pages=page_count(total, moderation.PAGE_SIZE), error=None, team=team)


@bp.post("/sites/<site_id>/threads/<int:thread_id>/lock")
@login_required
def lock_thread(site_id, thread_id):
    site = site_for(site_id)
    thread = moderation.get_thread(site, thread_id)
    locked = request.form.get("locked") == "yes"
    moderation.set_locked(actor(), site, thread, locked)
    flash(f"{'Locked' if locked else 'Unlocked'}: {thread.title or thread.url or 'thread ' + str(thread.id)}.",
          "success")
    return redirect(_back(site, "dashboard.threads"))


@bp.post("/sites/<site_id>/threads/<int:thread_id>/author")
@login_required
def thread_author(site_id, thread_id):
    site = site_for(site_id)
    thread = moderation.get_thread(site, thread_id)
    chosen = request.form.get("author", "")
    user_id = parse_id(chosen)
    if chosen and user_id is None:
        raise InvalidInput("choose one of the site's team", code="invalid_author")
    moderation.set_author(actor(), site, thread, user_id)
    flash("Saved: their comments there say “Post author”." if user_id else "No post author is named now.",
          "success")
    return redirect(_back(site, "dashboard.threads"))


@bp.post("/sites/<site_id>/threads/close-after")
@login_required
def close_after(site_id):
    # Closing old threads is the site's close_after_days setting: owners only, as on the settings page.
    site = site_for(site_id, "manage")
    value = request.form.get("close_after_days", "").strip()[:20] or "off"
    try:
        sites.change_settings(actor(), site, {"close_after_days": value})
    except sites.SettingsInvalid as failure:
        flash("Not saved: " + failure.errors["close_after_days"], "error")
    else:
        flash("Threads older than that no longer take comments." if site.close_after_days
              else "Old threads stay open.", "success")
    return redirect(url_for("dashboard.threads", site_id=site.public_id))
