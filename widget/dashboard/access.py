"""Helpers every dashboard view uses: the site of the URL checked against the user's role, paging, safe redirects."""
from urllib.parse import urlsplit

from flask import g, request
from flask_login import current_user

from .. import memberships, moderation, sites
from ..errors import InvalidInput, NotFound
from ..extensions import db
from ..models import MAX_ID, Site, parse_id
from . import bp


def site_for(public_id, need="moderate"):
    """The site named in the URL, once the acting user's role there allows `need`; 404 for anyone else's."""
    site = db.session.scalar(db.select(Site).where(Site.public_id == public_id)) if len(public_id) <= 40 else None
    if site is None:
        raise NotFound(f"no site with id {public_id!r}", code="unknown_site")
    g.site = site
    g.role = memberships.require(current_account(), site, need)
    return site


def may_manage(public_id, account):
    """Whether the account may manage the site with this id; False for no such site. Never raises."""
    # Checked before any query: this runs ahead of the NUL guard, and PostgreSQL refuses a NUL in text.
    if account is None or not isinstance(public_id, str) or not sites.PUBLIC_ID.match(public_id):
        return False
    site = db.session.scalar(db.select(Site).where(Site.public_id == public_id))
    role = memberships.role_on(account, site)
    return role is not None and memberships.RANK[role] >= memberships.RANK[memberships.NEEDS["manage"]]


def current_account():
    """The acting dashboard account, loaded once per request by the blueprint (None when logged out)."""
    return g.get("account")


def actor():
    """The acting user as a plain model object, for services."""
    return current_user._get_current_object()


def may(need):
    role = g.get("role")
    return role is not None and memberships.RANK[role] >= memberships.RANK[memberships.NEEDS[need]]


def page_number(name="p"):
    number = parse_id(request.args.get(name, "1"), high=100_000)
    if number is None:
        raise InvalidInput("the page number is a whole number from 1", code="invalid_page")
    return number


def page_count(total, page_size):
    """Pages needed for `total` rows; an empty list still has its one (empty) page."""
    return max(1, -(-total // page_size))


def owned_by_site(model, object_id, site, code):
    """The row of `model` with this id if it belongs to `site`, else a 404 naming what was missing."""
    found = db.session.get(model, object_id) if object_id <= MAX_ID else None
    if found is None or found.site_id != site.id:
        raise NotFound(f"no such {code.removeprefix('unknown_')}", code=code)
    return found


def safe_next(target, default):
    """A dashboard path to go to after logging in; anything else (other hosts, //evil) gives the default."""
    if not target or not isinstance(target, str) or len(target) > 1000 or "\\" in target:
        return default
    try:
        parts = urlsplit(target)
    except ValueError:  # "https://[::1" and other URLs Python cannot even split
        return default
    if parts.scheme or parts.netloc or not parts.path.startswith("/dashboard"):
        return default
    return target


@bp.app_template_global()
def dashboard_nav():
    """What the header shows: the user's sites, and for the current one its role and pending count."""
    if not current_user.is_authenticated:
        return None
    site = g.get("site")
    account = current_account()
    return {
        "sites": memberships.sites_for(account),
        "site": site,
        "role": g.get("role"),
        "pending": moderation.pending_count(site) if site is not None else 0,
        "is_admin": bool(account and account.is_admin),
        "may_manage": may("manage"),
    }


@bp.app_template_filter("when")
def when(moment):
    """A compact UTC time for tables: the date and minutes."""
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "—"
