"""Webhooks: a site's list, adding and removing one, a test event, the signing secret and the last deliveries."""
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required

from .. import webhooks
from ..errors import NotFound
from ..extensions import db
from ..models import WEBHOOK_EVENTS, Webhook, parse_id
from . import bp
from .access import actor, owned_by_site, site_for

EVENT_LABELS = {
    "comment.created": "A comment is posted (published or held for review; not spam)",
    "comment.approved": "A held comment is approved",
    "comment.deleted": "A published comment is deleted",
}


def _posted_webhook(site):
    webhook_id = parse_id(request.form.get("webhook", ""))
    if webhook_id is None:
        raise NotFound("no such webhook", code="unknown_webhook")
    return owned_by_site(Webhook, webhook_id, site, "unknown_webhook")


def _page(site, form, errors, status):
    return render_template("dashboard/webhooks.html", site=site, hooks=webhooks.webhooks_of(site), form=form,
                           errors=errors, events=WEBHOOK_EVENTS, labels=EVENT_LABELS,
                           deliveries=webhooks.deliveries(site), max_webhooks=webhooks.MAX_WEBHOOKS), status


@bp.route("/sites/<site_id>/webhooks", methods=["GET", "POST"])
@login_required
def webhooks_page(site_id):
    site = site_for(site_id, "manage")
    if request.method == "GET":
        return _page(site, {"url": "", "events": list(WEBHOOK_EVENTS)}, {}, 200)
    # Not cut to a length: an over-long URL is refused with its length, never stored shortened.
    form = {"url": request.form.get("url", "").strip(), "events": request.form.getlist("events")}
    try:
        hook = webhooks.add_webhook(actor(), site, form["url"], form["events"],
                                    allow_private=current_app.config["ALLOW_PRIVATE_TARGETS"])
    except webhooks.WebhookInvalid as failure:
        db.session.rollback()
        return _page(site, form, failure.errors, 400)
    flash(f"Added a webhook for {hook.url}. Send it a test event to check your receiver.", "success")
    return redirect(url_for("dashboard.webhooks_page", site_id=site.public_id))


@bp.post("/sites/<site_id>/webhooks/remove")
@login_required
def remove_webhook(site_id):
    site = site_for(site_id, "manage")
    hook = _posted_webhook(site)
    url = hook.url
    webhooks.remove_webhook(actor(), site, hook)
    flash(f"Removed the webhook for {url}; nothing more is sent there.", "success")
    return redirect(url_for("dashboard.webhooks_page", site_id=site.public_id))


@bp.post("/sites/<site_id>/webhooks/test")
@login_required
def test_webhook(site_id):
    site = site_for(site_id, "manage")
    hook = _posted_webhook(site)
    webhooks.send_test(actor(), site, hook)
    flash(f"A test event is on its way to {hook.url}; its delivery shows below.", "success")
    return redirect(url_for("dashboard.webhooks_page", site_id=site.public_id))


@bp.post("/sites/<site_id>/webhooks/secret")
@login_required
def rotate_webhook_secret(site_id):
    site = site_for(site_id, "manage")
    webhooks.rotate_secret(actor(), site)
    flash("Made a new signing secret. Deliveries are signed with it from now on: give it to your receivers.",
          "success")
    return redirect(url_for("dashboard.webhooks_page", site_id=site.public_id))
