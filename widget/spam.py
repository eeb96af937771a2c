"""The spam pipeline: small named checks, each giving its reason, that decide publish, hold or spam.

Nothing here refuses a comment: a check can only hold it for a moderator or file it as spam,
where a moderator can still release it. What the pipeline decided, its score and its reasons
are stored with the comment.
"""
import ipaddress
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, func

from . import markup, spam_filter
from .extensions import db, insert_if_new, run_core
from .models import Ban, Comment, Site, SpentFormToken, Thread, body_digest
from .tokens import FORM_TOKEN_MAX_AGE

PUBLISH, HOLD, SPAM = "publish", "hold", "spam"
SEVERITY = {PUBLISH: 0, HOLD: 1, SPAM: 2}
# A person needs longer than this to read a form and write something in it (SPAM_MIN_FORM_SECONDS).
MIN_FORM_SECONDS = 3
# More links than this in one comment is how link spam looks; the site's own limit refuses outright.
LINKS_TO_HOLD = 3
# How far back a repeated text counts as a duplicate, and how long it must be: "Thank you!" and
# "Great post" are honestly written again and again.
DUPLICATE_WINDOW = timedelta(days=7)
DUPLICATE_MIN_LENGTH = 30
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Submission:
    """A new comment as the checks see it."""

    site: Site
    body: str
    name: str | None
    email: str | None
    website: str | None
    address: str | None  # the poster's IP address, for blocked ranges; never stored
    honeypot: str | None  # what the field hidden from people held
    form_age: float | None  # seconds since the form was shown, from its signed token; None without one
    min_form_seconds: float  # sooner than this is faster than people write
    first_time: bool  # no approved comment from this author on this site yet
    ban: Ban | None
    now: datetime
    akismet: str | None = None  # akismet_service.SPAM, HAM or UNCHECKED; None where the site does not use it
    knowledge: spam_filter.Knowledge | None = None  # what the site taught its filter, for this comment's tokens
    site_script: str | None = None  # the script most of the site's comments are written in
    tokens: set[str] | None = None  # spam_filter.tokens of the comment, where the caller has them already
    form_token_required: bool = False  # a post without a valid, unspent form token counts against it
    form_token_spent: bool = False  # its token was used for a comment before
    logged_in: bool = False  # the author logged in with a provider


@dataclass(frozen=True)
class Finding:
    check: str
    action: str  # HOLD or SPAM
    score: float  # how spam-like, from 0 to 1
    reason: str


@dataclass(frozen=True)
class Verdict:
    action: str
    score: float
    reasons: list[str]


def honeypot(s):
    if s.honeypot and s.honeypot.strip():
        return Finding("honeypot", HOLD, 0.9, "a field hidden from people was filled in, as bots do")
    return None


def too_fast(s):
    if s.form_age is not None and s.form_age < s.min_form_seconds:
        return Finding("too_fast", HOLD, 0.6, f"sent less than {s.min_form_seconds:g} seconds after the form "
                                              "appeared, faster than people write")
    return None


def form_token(s):
    """A comment that did not come through a form shown by this server: no token, a forged, garbled, expired
    or other site's one, or one used before. Held, unless the author shows otherwise that they are a person:
    logged in with a provider, or with a comment approved here before from the same browser and email. (A
    confirmed email shows nothing of the kind: anyone can type it.)"""
    if not s.form_token_required or s.logged_in or not s.first_time:
        return None
    if s.form_age is None or s.form_token_spent:
        return Finding("form_token", HOLD, 0.5, "sent without a valid form token (none, forged, another site's, "
                                                "expired or used before), as scripts post")
    return None


def links(s):
    count = markup.count_links(s.body)
    if count >= LINKS_TO_HOLD:
        return Finding("links", HOLD, 0.5, f"{count} links in one comment")
    return None


# Built once: on every post's path, building a statement costs SQLAlchemy more than the database's run of it.
_SAME_TEXT_SINCE = (db.select(func.count(Comment.id)).join(Thread, Thread.id == Comment.thread_id)
                    .where(Comment.body_digest == bindparam("digest"), Thread.site_id == bindparam("site_id"),
                           Comment.created_at >= bindparam("since"), Comment.status != "deleted"))


def duplicate(s):
    text = s.body.strip()
    if len(text) < DUPLICATE_MIN_LENGTH:
        return None
    earlier = run_core(_SAME_TEXT_SINCE, {"digest": body_digest(text), "site_id": s.site.id,
                                          "since": s.now - DUPLICATE_WINDOW}).scalar()
    if earlier:
        return Finding("duplicate", HOLD, 0.7, "the same text was posted on this site in the past week")
    return None


def _domain_blocked(host, blocked):
    host = (host or "").lower().rstrip(".")
    return next((d for d in blocked if host == d or host.endswith("." + d)), None)


def blocklist(s):
    site = s.site
    words = {w.lower() for w in _WORD.findall(" ".join(filter(None, [s.body, s.name, s.email, s.website])))}
    for word in site.blocked_words or []:
        if (word in words) if _WORD.fullmatch(word) else (word in f"{s.body} {s.name or ''}".lower()):
            return Finding("blocklist", SPAM, 1.0, f"contains a blocked word ({word})")
    email = (s.email or "").lower()
    if email and email in (site.blocked_emails or []):
        return Finding("blocklist", SPAM, 1.0, "the email address is blocked on this site")
    blocked_domains = site.blocked_domains or []
    for host in [email.rpartition("@")[2], *spam_filter.hosts([s.website, *markup.link_urls(s.body)])]:
        if found := _domain_blocked(host, blocked_domains):
            return Finding("blocklist", SPAM, 1.0, f"mentions a blocked domain ({found})")
    if s.address and site.blocked_networks:
        try:
            address = ipaddress.ip_address(s.address)
        except ValueError:
            return None
        for network in site.blocked_networks:
            if address in ipaddress.ip_network(network):
                return Finding("blocklist", SPAM, 1.0, f"sent from a blocked address range ({network})")
    return None


def moderation(s):
    if s.site.moderation == "all":
        return Finding("moderation", HOLD, 0.0, "this site holds every comment for review")
    if s.site.moderation == "first-time" and s.first_time:
        return Finding("moderation", HOLD, 0.0, "first comment from this author")
    return None


def ban(s):
    if s.ban is not None:
        return Finding("ban", HOLD, 0.0, f"the author is banned (by {s.ban.kind}): held, as this site asks")
    return None


def local_filter(s):
    """This site's learning filter, then Antispam Bee's kind of heuristics: nothing leaves the server."""
    found = s.tokens if s.tokens is not None else spam_filter.tokens(s.body, s.name, s.email, s.website)
    probability = spam_filter.spam_probability(found, s.knowledge or spam_filter.Knowledge())
    if probability is not None and probability >= spam_filter.SPAM_AT:
        return Finding("filter", SPAM, probability, f"this site's spam filter rates it {probability:.0%} spam")
    if probability is not None and probability >= spam_filter.HOLD_AT:
        return Finding("filter", HOLD, probability, f"this site's spam filter rates it {probability:.0%} spam")
    signs = spam_filter.heuristics(s.body, s.website, s.first_time, s.site_script)
    weight = sum(w for w, _ in signs)
    if weight >= spam_filter.HEURISTIC_HOLD_AT:
        return Finding("heuristics", HOLD, min(weight, 1.0) * 0.8, "looks like spam: " + "; ".join(r for _, r in signs))
    return None


def akismet(s):
    if s.akismet == "spam":
        return Finding("akismet", SPAM, 0.95, "Akismet says this is spam")
    if s.akismet == "unchecked":
        # Never published as clean unchecked: a moderator decides instead.
        return Finding("akismet", HOLD, 0.0, "Akismet could not be reached to check it")
    return None


CHECKS = (honeypot, too_fast, form_token, links, duplicate, blocklist, moderation, ban, local_filter, akismet)


def _verdict(findings):
    action = max((f.action for f in findings), key=SEVERITY.__getitem__, default=PUBLISH)
    clean = 1.0
    for found in findings:
        clean *= 1.0 - found.score
    return Verdict(action, round(1.0 - clean, 3), [f.reason for f in findings])


def judge(submission, checks=CHECKS):
    """Run every check: the strictest action wins; the score combines the findings (0 = clean, 1 = spam)."""
    return _verdict([found for check in checks if (found := check(submission)) is not None])


def with_finding(verdict, found):
    """The verdict with one more finding, made after the others (a form token found spent as it was written)."""
    if found is None:
        return verdict
    action = max(verdict.action, found.action, key=SEVERITY.__getitem__)
    score = round(1.0 - (1.0 - verdict.score) * (1.0 - found.score), 3)
    return Verdict(action, score, verdict.reasons + [found.reason])


# How often each process deletes the rows of expired form tokens: the table holds a day's comments.
_PURGE_EVERY = 600.0
_next_purge = 0.0


def spend_form_token(token, now):
    """Mark a form token used, in the caller's transaction; False when a comment was stored with it before.

    One INSERT decides, so of two comments sent at once with one token only one spends it. Now and then the
    rows of tokens too old to be taken anyway are deleted on the way.
    """
    global _next_purge
    if time.monotonic() >= _next_purge:
        _next_purge = time.monotonic() + _PURGE_EVERY
        db.session.execute(delete(SpentFormToken).where(SpentFormToken.expires_at < now))
    return insert_if_new(SpentFormToken, {"nonce": token.nonce, "expires_at": token.issued_at + FORM_TOKEN_MAX_AGE})
