"""Sites and their settings: plain functions used by the CLI and the dashboard."""
import hashlib
import ipaddress
import re
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from sqlalchemy import bindparam, text
from sqlalchemy.exc import IntegrityError

from . import audit, names, outbound, outbox, remote_avatars
from .emails import is_email
from .errors import Conflict, InvalidInput, NotAllowed, NotFound
from .extensions import db
from .models import (
    ALERT_MODES,
    BAN_ACTIONS,
    MODERATION_MODES,
    DashboardAccount,
    Job,
    Membership,
    OriginClaim,
    RefusedOrigin,
    Site,
    SiteOrigin,
    User,
    utcnow,
)
from .urls import host_key, is_web_url, normalise_origin

# How many distinct refused origins a site keeps (the most recently seen): enough to spot a
# www or http mistake, too few for anyone to fill the database by inventing origins.
REFUSED_ORIGINS_KEPT = 20
PUBLIC_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
TRUE_WORDS = {"true", "yes", "on", "1"}
FALSE_WORDS = {"false", "no", "off", "0"}


def _bool(value):
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise InvalidInput(f"expected yes or no, got {value!r}")


def _int_between(low, high, off_allowed=False):
    def parse(value):
        word = str(value).strip().lower()
        if off_allowed and word in {"off", "none", "0", ""}:
            return None
        if not re.fullmatch(r"\d{1,9}", word):
            raise InvalidInput(f"expected a whole number, got {value!r}")
        number = int(word)
        if not low <= number <= high:
            raise InvalidInput(f"expected a number from {low} to {high}, got {number}")
        return number
    return parse


def _choice(options):
    def parse(value):
        if value not in options:
            raise InvalidInput(f"expected one of {', '.join(options)}, got {value!r}")
        return value
    return parse


def _optional_email(value):
    value = str(value).strip()
    if value.lower() in {"", "none", "off"}:
        return None
    if not is_email(value):
        raise InvalidInput(f"not an email address: {value!r}")
    return value


def _optional_web_url(value):
    value = str(value).strip()
    if value.lower() in {"", "none", "off"}:
        return None
    if len(value) > 500 or not is_web_url(value):
        raise InvalidInput(f"not an http or https URL: {value!r}")
    return value


def _name(value):
    value = str(value).strip()
    if not 1 <= len(value) <= 200:
        raise InvalidInput("a site name is 1 to 200 characters")
    return names.refuse_piled_marks(value, "name")


def parse_origins(values):
    """Normalised, de-duplicated origins; every one must be scheme://host[:port]."""
    if isinstance(values, str):
        values = [v for v in re.split(r"[\s,]+", values) if v]
    origins = []
    for value in values:
        origin = normalise_origin(value)
        if origin is None:
            raise InvalidInput(f"not an origin (scheme://host[:port] with http or https): {value!r}")
        if origin not in origins:
            origins.append(origin)
    return origins


def _providers(value):
    value = str(value).strip().lower()
    if value in {"", "all"}:
        return None
    if value == "none":
        return []
    names = [v for v in re.split(r"[\s,]+", value) if v]
    for name in names:
        if not re.fullmatch(r"[a-z0-9_]{1,40}", name):
            raise InvalidInput(f"not a provider name: {name!r}")
    return names


def _reserved_names(value):
    value = str(value).strip()
    if value.lower() in {"", "none", "off"}:
        return None
    found = []
    for raw in re.split(r"[,\n]+", value):
        if not raw.strip():
            continue
        name = names.clean(names.refuse_piled_marks(raw, "name"))
        if not name or len(name) > 100:
            raise InvalidInput(f"not a name (1 to 100 visible characters): {raw.strip()[:100]!r}")
        if name not in found:
            found.append(name)
    if len(found) > 100:
        raise InvalidInput("at most 100 reserved names")
    return found or None


MAX_BLOCKED = 1_000


def _block_list(what, parse_item):
    """A comma- or newline-separated list, each item checked by `parse_item`; none, off or empty for no list."""
    def parse(value):
        value = str(value).strip()
        if value.lower() in {"", "none", "off"}:
            return None
        found = []
        for raw in re.split(r"[,\n]+", value):
            if raw.strip() and (item := parse_item(raw.strip())) not in found:
                found.append(item)
        if len(found) > MAX_BLOCKED:
            raise InvalidInput(f"at most {MAX_BLOCKED} blocked {what}")
        return found or None
    return parse


def _blocked_word(raw):
    word = raw.lower()
    if len(word) > 100:
        raise InvalidInput(f"a blocked word or phrase has at most 100 characters: {raw[:100]!r}")
    return word


def _blocked_email(raw):
    if not is_email(raw):
        raise InvalidInput(f"not an email address: {raw[:100]!r}")
    return raw.lower()


def _blocked_domain(raw):
    domain = raw.lower().removeprefix("*.").rstrip(".")
    if not re.fullmatch(r"[a-z0-9-]{1,63}(\.[a-z0-9-]{1,63})+", domain):
        raise InvalidInput(f"not a domain name: {raw[:100]!r}")
    return domain


def _blocked_network(raw):
    try:
        return ipaddress.ip_network(raw, strict=False).compressed
    except ValueError:
        raise InvalidInput(f"not an IP address or range (such as 203.0.113.0/24): {raw[:100]!r}") from None


def _avatar_service(value):
    word = str(value).strip().lower()
    if word in {"", "off", "none", "generated"}:
        return None
    if word not in remote_avatars.SERVICES:
        raise InvalidInput(f"expected generated, {' or '.join(remote_avatars.SERVICES)}, got {value!r}")
    return word


def _akismet_key(value):
    value = str(value).strip()
    if value.lower() in {"", "none", "off"}:
        return None
    if not re.fullmatch(r"[A-Za-z0-9]{8,64}", value):
        raise InvalidInput("an Akismet API key is 8 to 64 letters and digits (see akismet.com/account)")
    return value


# Setting name -> (model attribute, parser, help). The CLI and the dashboard share this table.
SETTINGS = {
    "name": ("name", _name, "the site's display name"),
    "origins": ("origins", parse_origins, "allowed origins, comma or space separated"),
    "guests_allowed": ("guests_allowed", _bool, "whether readers may comment without logging in (yes/no)"),
    "providers": ("providers", _providers, "login providers shown: all, none, or a comma-separated list"),
    "moderation": ("moderation", _choice(MODERATION_MODES), "none, first-time or all"),
    "edit_window": ("edit_window_minutes", _int_between(0, 10_080), "minutes an author may edit or delete"),
    "max_depth": ("max_depth", _int_between(2, 20), "deepest nesting level of replies"),
    "close_after_days": ("close_after_days", _int_between(1, 36_500, off_allowed=True),
                         "close threads to new comments after N days (off to keep them open)"),
    "max_body_length": ("max_body_length", _int_between(1, 100_000), "longest comment, in characters"),
    "max_links": ("max_links", _int_between(0, 1_000), "most links allowed in one comment"),
    "notify_email": ("notify_email", _optional_email,
                     "address told of comments waiting for review, besides the moderators (off for none)"),
    "moderator_alerts": ("moderator_alerts", _choice(ALERT_MODES),
                         "how moderators hear of comments waiting: each (an email each), daily (a digest) or off"),
    "privacy_url": ("privacy_url", _optional_web_url, "link to the site's privacy notice (off for none)"),
    "ban_action": ("ban_action", _choice(BAN_ACTIONS),
                   "what happens to a banned author's new comment: refuse or hold (for review)"),
    "comments_per_hour": ("comments_per_hour", _int_between(1, 1_000, off_allowed=True),
                          "comments one address may post per hour (off: the server's limit)"),
    "blocked_words": ("blocked_words", _block_list("words", _blocked_word),
                      "words or phrases (comma separated) that file a comment as spam"),
    "blocked_emails": ("blocked_emails", _block_list("emails", _blocked_email),
                       "email addresses whose comments are filed as spam"),
    "blocked_domains": ("blocked_domains", _block_list("domains", _blocked_domain),
                        "domains (and their subdomains) that file a comment as spam in a link, website or email"),
    "blocked_networks": ("blocked_networks", _block_list("address ranges", _blocked_network),
                         "IP addresses or ranges (203.0.113.0/24) whose comments are filed as spam"),
    "akismet_key": ("akismet_key", _akismet_key, "the site's Akismet API key: also check comments there (off: never)"),
    "avatars": ("avatar_service", _avatar_service,
                "guests' pictures: generated, or by their email from gravatar or libravatar (fetched by this "
                "server; a guest who types someone's address shows that person's picture)"),
    "reserved_names": ("reserved_names", _reserved_names,
                       "names (comma separated) only staff may use, besides theirs and admin, moderator, ..."),
}


# Settings whose value is a list: shown as "none" when empty.
LIST_SETTINGS = {"reserved_names", "blocked_words", "blocked_emails", "blocked_domains", "blocked_networks"}


# Built once: on every post's path, building a statement costs SQLAlchemy more than the database's run of it.
_SITE_BY_PUBLIC_ID = db.select(Site).where(Site.public_id == bindparam("public_id"))


def get_site(public_id):
    site = db.session.scalar(_SITE_BY_PUBLIC_ID, {"public_id": public_id}) if isinstance(public_id, str) else None
    if site is None:
        raise NotFound(f"no site with id {public_id!r}", code="unknown_site")
    return site


def create_site(public_id, name, origins, defaults=None, commit=True, actor=None):
    """A new site; `commit=False` leaves it in the caller's transaction (to add its owner with it).

    An origin another site already has waits for proof (see set_origins); `actor` is who adds the site.
    """
    if not isinstance(public_id, str) or not PUBLIC_ID.match(public_id):
        raise InvalidInput("a site id is 1 to 40 lower-case letters, digits or dashes, starting with a letter or digit")
    if db.session.scalar(db.select(Site.id).where(Site.public_id == public_id)) is not None:
        raise Conflict(f"a site with id {public_id!r} already exists", code="site_exists")
    site = Site(public_id=public_id, name=_name(name), origins=[], **(defaults or {}))
    wanted = parse_origins(origins)
    db.session.add(site)
    db.session.flush()
    set_origins(actor, site, wanted)
    if commit:
        db.session.commit()
    else:
        db.session.flush()
    return site


def site_settings(site):
    """Each setting's current value in its text form, for listing."""
    shown = {}
    for key, (attribute, _, _) in SETTINGS.items():
        value = getattr(site, attribute)
        if isinstance(value, bool):
            value = "yes" if value else "no"
        elif isinstance(value, list):
            value = ", ".join(value) if value else "none"
        elif value is None:
            value = ("all" if key == "providers" else "none" if key in LIST_SETTINGS
                     else "generated" if key == "avatars" else "off")
        elif key == "akismet_key":
            value = f"set, ending in {value[-4:]}"  # listings and the audit log never show a whole key
        shown[key] = str(value)
    return shown


class SettingsInvalid(InvalidInput):
    """Some settings of a form were refused: `errors` maps each setting to its reason."""

    def __init__(self, errors):
        super().__init__("; ".join(f"{key}: {message}" for key, message in errors.items()), code="invalid_settings")
        self.errors = errors


def change_settings(actor, site, values):
    """Set several settings from their text forms at once, all or none, and log what changed."""
    errors, parsed = {}, {}
    for key, value in values.items():
        if key not in SETTINGS:
            errors[key] = f"unknown setting; known: {', '.join(SETTINGS)}"
            continue
        attribute, parse, _ = SETTINGS[key]
        try:
            parsed[attribute] = parse(value)
        except InvalidInput as error:
            errors[key] = error.message
    if errors:
        raise SettingsInvalid(errors)
    before = site_settings(site)
    wanted = parsed.pop("origins", None)
    if wanted is not None:  # first: it takes its locks before anything is written (see _lock_hosts)
        set_origins(actor, site, wanted)
    for attribute, value in parsed.items():
        setattr(site, attribute, value)
    after = site_settings(site)
    changed = {key: (before[key], after[key]) for key in before if before[key] != after[key]}
    if changed:
        audit.record(actor, site, "site.settings", "site", site.id,
                     before={k: b for k, (b, _) in changed.items()}, after={k: a for k, (_, a) in changed.items()})
    db.session.commit()
    return changed


# Refused origins ---------------------------------------------------------------------------------

def note_refused_origin(site, origin, now=None):
    """Remember that a page on `origin` tried to show the site's comments and was refused.

    Keeps the site's REFUSED_ORIGINS_KEPT most recently seen origins, each with how often and when.
    """
    now = now or utcnow()
    updated = db.session.execute(
        db.update(RefusedOrigin).where(RefusedOrigin.site_id == site.id, RefusedOrigin.origin == origin)
        .values(times=RefusedOrigin.times + 1, last_seen=now))
    if not updated.rowcount:  # type: ignore[attr-defined]
        db.session.add(RefusedOrigin(site_id=site.id, origin=origin, first_seen=now, last_seen=now))
        kept = (db.select(RefusedOrigin.id).where(RefusedOrigin.site_id == site.id)
                .order_by(RefusedOrigin.last_seen.desc(), RefusedOrigin.id.desc()).limit(REFUSED_ORIGINS_KEPT))
        db.session.flush()
        db.session.execute(db.delete(RefusedOrigin).where(
            RefusedOrigin.site_id == site.id, RefusedOrigin.id.not_in(kept.scalar_subquery())))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # another request noted the same new origin at the same moment: one is enough


def refused_origins(site):
    """The origins the site's comments were refused on, most recently seen first."""
    return list(db.session.scalars(db.select(RefusedOrigin).where(RefusedOrigin.site_id == site.id)
                                   .order_by(RefusedOrigin.last_seen.desc(), RefusedOrigin.id.desc())))


def allow_refused_origin(actor, site, origin):
    """Add a refused origin to the site's origins, and forget that it was refused. Returns whether it is
    allowed now; an origin another site has waits for proof instead (see set_origins)."""
    found = db.session.scalar(db.select(RefusedOrigin).where(RefusedOrigin.site_id == site.id,
                                                             RefusedOrigin.origin == origin))
    if found is None:
        raise NotFound(f"{origin!r} is not among the origins refused for this site", code="unknown_origin")
    before = list(site.origins)
    if origin not in before:
        set_origins(actor, site, [*wanted_origins(site), origin])
        if site.origins != before:
            audit.record(actor, site, "site.settings", "site", site.id,
                         before={"origins": ", ".join(before)}, after={"origins": ", ".join(site.origins)})
    db.session.delete(found)
    db.session.commit()
    return origin in site.origins


# Origins another site already has ----------------------------------------------------------------
#
# A site's allowed origins decide where its comments may be shown and written from, and which pages it takes
# Webmentions for. An origin on a host that another owner's site already has (whatever the scheme, port or
# spelling) would let one tenant speak for another's pages, so it is granted only once the new site's owner
# proves the origin is theirs (a line served on it), or an administrator grants it. Until then it waits as an
# OriginClaim, used for nothing. A proof also takes the origin back from the sites that only listed it: the
# first to register a host is not thereby its owner.

VERIFICATION_PATH = "/.well-known/parley-site-verification.txt"
MAX_CLAIMS = 20
# The proof is one short line; a file that is much longer is not one written for this.
VERIFICATION_MAX_BYTES = 64 * 1024
# The outbox's job that checks a site's waiting origins, in the lane of fetches from addresses others chose.
CHECK_KIND = "origin_check"
# How a site came to have an origin that a proof by another site does not take back.
FIRM = ("proof", "administrator")


def verification_url(origin):
    return origin + VERIFICATION_PATH


def verification_line(site):
    """The line the site's owner serves at a waiting origin's verification_url; made on first need."""
    if site.verification_token is None:
        site.verification_token = "parley-site-verification=" + secrets.token_urlsafe(24)
    return site.verification_token


def claims(site):
    """The origins the site waits for, oldest first."""
    return list(db.session.scalars(db.select(OriginClaim).where(OriginClaim.site_id == site.id)
                                   .order_by(OriginClaim.id)))


def wanted_origins(site):
    """Every origin the site's owner listed: those granted, then those that wait."""
    return [*site.origins, *(claim.origin for claim in claims(site))]


def holders(site, origin):
    """The other sites with an origin on `origin`'s host, in any scheme or port: (id, public_id) of each."""
    return db.session.execute(
        db.select(Site.id, Site.public_id).join(SiteOrigin, SiteOrigin.site_id == Site.id)
        .where(SiteOrigin.host == host_key(origin), Site.id != site.id).distinct().order_by(Site.id)).all()


def proof_covers(proven, origin):
    """Whether a proof served on `proven` speaks for `origin` too: the same origin, or any origin of its host when
    served on the host's usual port (80 or 443), which is how certificate authorities take control of a name."""
    return proven == origin or (urlsplit(proven).port is None and host_key(proven) == host_key(origin))


def _lock_hosts(origins, site=None):
    """Make anyone else who decides which sites have one of these origins' hosts wait until this transaction
    ends: two owners claiming a free host at once cannot both be its first, and a proof cannot take back an
    origin while its site's owner is changing that site's origins.

    On PostgreSQL an advisory lock per host, for the transaction, taken in one order (so two callers never wait
    for each other in a circle), before anything is written; `site`, read before the wait, is read again. On
    SQLite every transaction that may write holds the database's one write lock from its start (BEGIN
    IMMEDIATE), which does the same.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return
    hosts = sorted({host_key(origin) for origin in origins} - {None})
    for host in hosts:
        key = int.from_bytes(hashlib.sha256(f"parley origin host {host}".encode()).digest()[:8], "big", signed=True)
        db.session.execute(_LOCK_HOST, {"key": key})
    if hosts and site is not None:
        db.session.refresh(site)


_LOCK_HOST = text("SELECT pg_advisory_xact_lock(:key)")


def _owners(site_id):
    return set(db.session.scalars(db.select(Membership.user_id).where(Membership.site_id == site_id,
                                                                      Membership.role == "owner")))


def _may_take(actor, site, origin):
    """Whether the origin may be granted at once: no other site has its host, or the actor owns every one that does.

    The command line (actor None) owns nothing: its operator grants with `site grant`, as an administrator.
    """
    others = [site_id for site_id, _ in holders(site, origin)]
    if not others:
        return True
    if actor is None:
        return False
    owned = db.session.scalar(db.select(db.func.count()).select_from(Membership).where(
        Membership.user_id == actor.id, Membership.role == "owner", Membership.site_id.in_(others)))
    return owned == len(others)


def _granted(site):
    """The site's SiteOrigin rows, by origin."""
    return {row.origin: row for row in db.session.scalars(db.select(SiteOrigin).where(SiteOrigin.site_id == site.id))}


def set_origins(actor, site, wanted, now=None):
    """Make `wanted` the site's origins: those it has stay, new ones are granted unless another site has their host
    (they then wait as claims), and those no longer wanted go, waiting or not. Returns the new claims."""
    now = now or utcnow()
    _lock_hosts([*site.origins, *wanted], site)
    waiting = {claim.origin: claim for claim in claims(site)}
    held = [origin for origin in wanted if origin not in site.origins and not _may_take(actor, site, origin)]
    if len(held) > MAX_CLAIMS:
        raise InvalidInput(f"at most {MAX_CLAIMS} origins may wait for proof at once", code="too_many_claims")
    for origin, claim in waiting.items():
        if origin not in held:
            db.session.delete(claim)
    new = [OriginClaim(site_id=site.id, origin=origin, created_at=now) for origin in held if origin not in waiting]
    db.session.add_all(new)
    for claim in new:
        audit.record(actor, site, "site.origin_claim", "site", site.id, after={"origin": claim.origin}, now=now)
    site.origins = [origin for origin in wanted if origin not in held]
    rows = _granted(site)
    for origin, row in rows.items():
        if origin not in site.origins:
            db.session.delete(row)
    db.session.add_all(SiteOrigin(site_id=site.id, origin=origin, host=host_key(origin), how="listed", created_at=now)
                       for origin in site.origins if origin not in rows)
    if held:
        verification_line(site)
    db.session.flush()
    return new


def _grant(actor, site, claim, how, now):
    site.origins = [*site.origins, claim.origin]
    db.session.add(SiteOrigin(site_id=site.id, origin=claim.origin, host=host_key(claim.origin), how=how,
                              created_at=now))
    audit.record(actor, site, "site.origin_grant", "site", site.id, after={"origin": claim.origin, "by": how}, now=now)
    db.session.delete(claim)
    if how == "proof":
        _take_back(site, claim.origin, now)


def _take_back(site, proven, now):
    """The proven origin (its whole host, when proven on the usual port) goes back to waiting for proof on the other
    sites that only listed it, but for those that share an owner with `site`."""
    owners = _owners(site.id)
    rows = db.session.execute(db.select(SiteOrigin, Site).join(Site, Site.id == SiteOrigin.site_id).where(
        SiteOrigin.host == host_key(proven), SiteOrigin.site_id != site.id, SiteOrigin.how.not_in(FIRM))
        .order_by(SiteOrigin.id)).all()
    for row, other in rows:
        if not proof_covers(proven, row.origin) or owners & _owners(other.id):
            continue
        other.origins = [origin for origin in other.origins if origin != row.origin]
        db.session.delete(row)
        if db.session.scalar(db.select(OriginClaim.id).where(OriginClaim.site_id == other.id,
                                                             OriginClaim.origin == row.origin)) is None:
            db.session.add(OriginClaim(site_id=other.id, origin=row.origin, created_at=now))
        verification_line(other)
        # Who proved it is another tenant's business: the entry names neither their site nor them.
        audit.record(None, other, "site.origin_revoke", "site", other.id, after={"origin": row.origin, "by": "proof"},
                     now=now, actor_name="another site's proof of the origin")


def verify_claims(actor, site, allow_private=False, timeout=10.0, now=None):
    """Fetch every waiting origin's verification file, side by side within one deadline of `timeout` seconds,
    and grant those that serve the site's line. Returns {origin: None when granted, else why not}.

    No transaction is open while the origins take their time to answer: on SQLite it would hold the database's
    one write lock, and every comment posted meanwhile would wait for it, then fail.
    """
    site_id, line = site.id, verification_line(site)
    asked = [claim.origin for claim in claims(site)]
    db.session.commit()
    found = _fetch_proofs(asked, line, allow_private, timeout)
    # Written in a short transaction of its own, for the origins that still wait: the owner may have changed
    # the site's origins meanwhile.
    _lock_hosts(origin for origin, problem in found.items() if problem is None)
    site = db.session.get(Site, site_id)  # read again (the commit above expired it), after the locks
    if site is None:
        return {}
    waiting = {claim.origin: claim for claim in claims(site) if claim.origin in found}
    now = now or utcnow()
    for origin, claim in waiting.items():
        problem = found[origin]
        claim.checked_at, claim.problem = now, problem and problem[:300]
        if problem is None:
            _grant(actor, site, claim, "proof", now)
    db.session.commit()
    return {origin: found[origin] for origin in waiting}


def _fetch_proofs(origins, line, allow_private, timeout):
    """{origin: None when it serves `line` at its verification_url, else why not}, all asked at once.

    Redirects are not followed: the line must be served by the origin itself.
    """
    deadline = time.monotonic() + timeout

    def fetch(origin):
        url = verification_url(origin)
        try:
            answer = outbound.request("GET", url, allow_private=allow_private, max_bytes=VERIFICATION_MAX_BYTES,
                                      timeout=max(0.001, deadline - time.monotonic()))
        except outbound.TimedOut:
            return f"{url} did not answer within {timeout:g} s"
        except (outbound.Refused, outbound.Unreachable) as error:
            return f"{url} could not be read: {error}"
        if answer.status != 200:
            return f"{url} answered {answer.status}"
        lines = {part.strip() for part in answer.body.decode("utf-8", "replace").splitlines()}
        return None if line in lines else f"{url} does not hold this site's line"

    if not origins:
        return {}
    with ThreadPoolExecutor(max_workers=len(origins), thread_name_prefix="parley-proof") as pool:
        return dict(zip(origins, pool.map(fetch, origins), strict=True))


def queue_check(actor, site, now=None):
    """Queue a check of the site's waiting origins (verify_claims) for the outbox's fetch lane, and commit; none
    when one is queued or under way already."""
    under_way = db.session.scalar(db.select(Job.id).where(Job.site_id == site.id, Job.kind == CHECK_KIND,
                                                          Job.status == "queued").limit(1))
    if under_way is None:
        outbox.enqueue(CHECK_KIND, {"site_id": site.id, "actor_id": actor.id if actor is not None else None},
                       site_id=site.id, now=now)
    db.session.commit()


def last_check(site):
    """The site's latest check of its waiting origins, a job ("queued" while it waits or runs), or None."""
    return next(iter(outbox.recent(site.id, CHECK_KIND, limit=1)), None)


def run_check(job, allow_private, timeout):
    """The outbox's check of a site's waiting origins; returns what it found, in words for the site's page."""
    site = db.session.get(Site, job.payload["site_id"])
    if site is None:
        raise outbox.GiveUp("the site is gone")
    actor = db.session.get(User, job.payload["actor_id"]) if job.payload.get("actor_id") else None
    results = verify_claims(actor, site, allow_private=allow_private, timeout=timeout)
    return "; ".join(f"{origin} is proven, and allowed now" if problem is None else f"{origin} still waits"
                     for origin, problem in results.items()) or "no origin waited"


def grant_claim(actor, site, origin, now=None):
    """An administrator grants a waiting origin without proof; `actor` None is the command line's operator."""
    if actor is not None and not db.session.scalar(
            db.select(DashboardAccount.is_admin).where(DashboardAccount.user_id == actor.id)):
        raise NotAllowed("only an administrator can grant an origin another site has", code="role_required")
    _lock_hosts([origin], site)
    claim = db.session.scalar(db.select(OriginClaim).where(OriginClaim.site_id == site.id,
                                                           OriginClaim.origin == origin))
    if claim is None:
        raise NotFound(f"{origin!r} is not an origin {site.public_id} waits for", code="unknown_claim")
    _grant(actor, site, claim, "administrator", now or utcnow())
    db.session.commit()
