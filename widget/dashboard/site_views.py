"""Sites: the list, adding one, its overview (snippet, chart, totals), settings, members and audit log."""
from datetime import timedelta

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_login import login_required
from markupsafe import Markup

from .. import audit, memberships, moderation, notifications, outbox, sites
from ..errors import InvalidInput, ParleyError
from ..extensions import db
from ..models import BAN_ACTIONS, MODERATION_MODES, Invitation, Membership, parse_id, utcnow
from ..web import providers
from ..web.public_url import public_url_for
from . import bp
from .access import actor, current_account, owned_by_site, site_for
from .chart import bar_chart


@bp.get("/sites", endpoint="sites")
@login_required
def sites_list():
    rows = [(site, role, moderation.pending_count(site)) for site, role in memberships.sites_for(current_account())]
    return render_template("dashboard/sites.html", rows=rows, can_add=memberships.can_add_sites(current_account()))


@bp.route("/sites/new", methods=["GET", "POST"])
@login_required
def new_site():
    form = {"public_id": "", "name": "", "origins": ""}
    errors, status = {}, 200
    if request.method == "POST":
        form = {key: request.form.get(key, "").strip()[:2000] for key in form}
        try:
            site = memberships.add_site(actor(), form["public_id"], form["name"], form["origins"])
        except ParleyError as failure:
            errors["form"], status = failure.message, failure.status
        else:
            flash(f"Added {site.name}. Paste the snippet below into your pages.", "success")
            _say_what_waits(site)
            return redirect(url_for("dashboard.site", site_id=site.public_id))
    elif not memberships.can_add_sites(current_account()):
        errors["form"] = "Only administrators and site owners can add sites."
    return render_template("dashboard/site_new.html", form=form, errors=errors), status


def _say_what_waits(site):
    if waiting := sites.claims(site):
        flash(f"{', '.join(claim.origin for claim in waiting)} {'is' if len(waiting) == 1 else 'are'} on a host "
              "another site on this server already uses: no page there shows these comments until you prove the "
              "origin is yours (see Origins waiting for proof).", "warning")


def snippet(site):
    loader = public_url_for("embed.loader")
    return (f'<div id="parley-thread"></div>\n'
            f'<script src="{loader}" data-parley-site="{site.public_id}" async></script>')


def webmention_link(site):
    """The tag that names the site's Webmention endpoint, for pages read without running the loader."""
    return f'<link rel="webmention" href="{public_url_for("webmention.receive", site_id=site.public_id)}">'


@bp.get("/sites/<site_id>")
@login_required
def site(site_id):
    site = site_for(site_id)
    claims = sites.claims(site)
    # Which other sites have a waiting origin is for administrators, who may grant it, to see: a tenant
    # learns nothing of another's sites.
    claimed_by = {claim.origin: ", ".join(public_id for _, public_id in sites.holders(site, claim.origin))
                  for claim in claims} if g.role == "admin" else {}
    return render_template("dashboard/site.html", site=site, snippet=snippet(site),
                           webmention_link=webmention_link(site),
                           chart=bar_chart(moderation.comments_per_day(site)),
                           spam_chart=bar_chart(moderation.comments_per_day(site, verdict="spam")),
                           totals=moderation.totals_by_status(site), settings=sites.site_settings(site),
                           sends_email=bool(current_app.config["SMTP_HOST"]),
                           emails=outbox.summary(site.id, "email", utcnow() - timedelta(days=7)),
                           alerted=notifications.alert_recipients(site), refused=sites.refused_origins(site),
                           claims=claims, verification_path=sites.VERIFICATION_PATH, claimed_by=claimed_by,
                           check=_recent(sites.last_check(site)))


def _recent(check, shown_for=timedelta(hours=1)):
    """A check of the waiting origins under way, or ended lately enough that its outcome is still news."""
    if check is None or check.status == "queued" or (check.finished_at or check.created_at) > utcnow() - shown_for:
        return check
    return None


@bp.post("/sites/<site_id>/refused-origins/allow")
@login_required
def allow_refused_origin(site_id):
    """One click from "Refused origins": the page's origin joins the site's allowed origins."""
    site = site_for(site_id, "manage")
    origin = request.form.get("origin", "")[:200]
    if sites.allow_refused_origin(actor(), site, origin):
        flash(f"Pages on {origin} can now show the comments of {site.name}.", "success")
    else:
        _say_what_waits(site)
    return redirect(url_for("dashboard.site", site_id=site.public_id))


@bp.post("/sites/<site_id>/origins/verify")
@login_required
def verify_origins(site_id):
    """Have each waiting origin's verification file fetched by the outbox's sender; the site's page says "checking"
    until it is done, then what was found."""
    site = site_for(site_id, "manage")
    sites.queue_check(actor(), site)
    return redirect(url_for("dashboard.site", site_id=site.public_id))


@bp.post("/sites/<site_id>/origins/grant")
@login_required
def grant_origin(site_id):
    """An administrator allows a waiting origin without proof."""
    site = site_for(site_id, "manage")
    origin = request.form.get("origin", "")[:200]
    sites.grant_claim(actor(), site, origin)
    flash(f"Granted {origin} to {site.name} without proof.", "success")
    return redirect(url_for("dashboard.site", site_id=site.public_id))


# Settings --------------------------------------------------------------------------------------

def _settings_form(site):
    """The form's values in their text forms (as the CLI takes them)."""
    values = sites.site_settings(site)
    values["origins"] = "\n".join(sites.wanted_origins(site))
    values["close_after_days"] = "" if site.close_after_days is None else str(site.close_after_days)
    values["comments_per_hour"] = "" if site.comments_per_hour is None else str(site.comments_per_hour)
    values["notify_email"] = site.notify_email or ""
    values["privacy_url"] = site.privacy_url or ""
    values["akismet_key"] = site.akismet_key or ""  # the settings page is for owners, who set it
    values["reserved_names"] = ", ".join(site.reserved_names or [])
    for key in sites.LIST_SETTINGS - {"reserved_names"}:
        values[key] = "\n".join(getattr(site, key) or [])
    return values


def _posted_settings():
    # A setting the form did not send stays as it is (a form from before the setting existed, say).
    values = {key: request.form[key][:5000] for key in sites.SETTINGS
              if key in request.form and key not in ("guests_allowed", "providers")}
    values["guests_allowed"] = "yes" if request.form.get("guests_allowed") else "no"
    mode = request.form.get("providers_mode", "all")
    if mode == "some":
        values["providers"] = ",".join(request.form.getlist("providers")) or "none"
    else:
        values["providers"] = "none" if mode == "none" else "all"
    return values


@bp.route("/sites/<site_id>/settings", methods=["GET", "POST"])
@login_required
def settings(site_id):
    site = site_for(site_id, "manage")
    values, errors, status = _settings_form(site), {}, 200
    if request.method == "POST":
        values = _posted_settings()
        try:
            changed = sites.change_settings(actor(), site, values)
        except sites.SettingsInvalid as failure:
            errors, status = failure.errors, 400
            db.session.rollback()
        else:
            flash(f"Saved {len(changed)} change{'s' if len(changed) != 1 else ''}." if changed
                  else "Nothing changed.", "success")
            _say_what_waits(site)
            return redirect(url_for("dashboard.settings", site_id=site.public_id))
    return render_template("dashboard/settings.html", site=site, values=values, errors=errors,
                           modes=MODERATION_MODES, ban_actions=BAN_ACTIONS, help=sites.SETTINGS,
                           offered=providers.available(current_app)), status


# Members -----------------------------------------------------------------------------------------

@bp.route("/sites/<site_id>/members", methods=["GET", "POST"])
@login_required
def members(site_id):
    site = site_for(site_id, "manage")
    new_link, errors, status = None, {}, 200
    if request.method == "POST":
        try:
            lifetime = timedelta(days=current_app.config["INVITATION_DAYS"])
            invitation, token = memberships.invite(current_account(), site, request.form.get("role", ""),
                                                   request.form.get("note", "")[:1000], lifetime=lifetime)
        except ParleyError as failure:
            errors["form"], status = failure.message, failure.status
        else:
            # Shown once, now: only the token's hash is stored.
            new_link = {"url": public_url_for("dashboard.invitation", token=token), "invitation": invitation}
            status = 201
    grantable = [role for role in ("owner", "moderator")
                 if memberships.RANK[current_role(site)] > memberships.RANK[role]]
    return render_template("dashboard/members.html", site=site, members=memberships.members(site),
                           invitations=memberships.pending_invitations(site), new_link=new_link, errors=errors,
                           grantable=grantable, labels=memberships.ROLE_LABELS), status


def current_role(site):
    return memberships.role_on(current_account(), site)


@bp.post("/sites/<site_id>/members/<int:member_id>/remove")
@login_required
def remove_member(site_id, member_id):
    site = site_for(site_id, "manage")
    membership = owned_by_site(Membership, member_id, site, "unknown_member")
    name = membership.user.display_name
    memberships.remove_member(current_account(), site, membership)
    flash(f"{name} no longer has a role on {site.name}.", "success")
    return redirect(url_for("dashboard.members", site_id=site.public_id))


@bp.post("/sites/<site_id>/invitations/<int:invitation_id>/revoke")
@login_required
def revoke_invitation(site_id, invitation_id):
    site = site_for(site_id, "manage")
    invitation = owned_by_site(Invitation, invitation_id, site, "unknown_invitation")
    memberships.revoke_invitation(current_account(), site, invitation)
    flash("The invitation was withdrawn; its link no longer works.", "success")
    return redirect(url_for("dashboard.members", site_id=site.public_id))


# Audit log ---------------------------------------------------------------------------------------

@bp.get("/sites/<site_id>/audit")
@login_required
def audit_log(site_id):
    site = site_for(site_id, "manage")
    action = request.args.get("action", "")[:40] or None
    before = request.args.get("before", "")
    before_id = parse_id(before)
    if before and before_id is None:
        raise InvalidInput("before is an entry number", code="invalid_page")
    entries, next_before = audit.entries(site, action=action, before_id=before_id)
    return render_template("dashboard/audit.html", site=site, entries=entries, next_before=next_before,
                           action=action, actions=audit.actions(site), changes=audit.changes)


@bp.app_template_filter("audit_value")
def audit_value(value):
    if value is None:
        return Markup('<span class="muted">—</span>')
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    return text if len(text) <= 300 else text[:300] + "…"
