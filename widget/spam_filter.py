"""Local content scoring that sends nothing anywhere: heuristics, and a filter that learns from moderators.

The learning part is a naive Bayes filter in Paul Graham's manner ("A Plan for Spam"), one per
site: each approve teaches it ham and each "spam" teaches it spam. Until a site has taught it
enough of both, it stays out of the verdict and the heuristics alone may hold a comment. Both
only ever hold a comment or file it as spam; a moderator can always release it.
"""
import math
import re
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import ARRAY, String, any_, bindparam

from . import markup
from .extensions import db, run_core
from .models import Comment, FilterToken, Thread

# Phrases that mark commercial spam on a personal blog (after Antispam Bee and WordPress's lists).
SPAM_PHRASES = (
    "viagra", "cialis", "tramadol", "pharmacy", "no prescription", "casino", "free spins", "slots", "betting",
    "payday", "loan approval", "bad credit", "bitcoin doubler", "crypto signals", "forex", "guaranteed",
    "passive income", "backlinks", "seo services", "rank #1", "website traffic", "guest post service",
    "replica", "knockoff", "designer bags", "click here", "order now", "limited offer", "best price",
    "100%", "free shipping", "no risk", "work from home", "make money",
)
_WORD = re.compile(r"[^\W_]{2,30}", re.UNICODE)
# The filter takes part once a site has taught it this many comments of each kind.
MIN_TRAINED = 20
# Tokens that decide: the most telling ones of a comment, as Graham suggests.
INTERESTING = 15
SPAM_AT, HOLD_AT = 0.99, 0.9
HEURISTIC_HOLD_AT = 0.8


# How much of a text tells its script: enough letters, and a bound on the work for long comments.
SCRIPT_SAMPLE = 1_000


def hosts(urls):
    """The lower-cased host names of the URLs that have one."""
    return [host for url in urls if url and (host := (urlsplit(url).hostname or "").lower())]


def tokens(body, name=None, email=None, website=None):
    """What the filter counts: the words, the linked hosts, the email domain, the website host."""
    links = markup.link_urls(body)
    found = {word.lower() for word in _WORD.findall(body)}
    found.update(f"name:{word.lower()}" for word in _WORD.findall(name or ""))
    found.update(f"host:{host}" for host in hosts(links))
    if email and "@" in email:
        found.add(f"email:{email.rpartition('@')[2].lower()}")
    found.update(f"site:{host}" for host in hosts([website]))
    found.add(f"links:{min(len(links), 3)}")
    return found


@dataclass
class Knowledge:
    """What a site's filter has learned: how many ham and spam comments, and per token in how many."""

    ham: int = 0
    spam: int = 0
    counts: dict | None = None  # token -> (in ham, in spam)

    def ready(self):
        return self.ham >= MIN_TRAINED and self.spam >= MIN_TRAINED


def token_probability(in_ham, in_spam, knowledge):
    """How likely a comment with this token is spam, kept away from 0 and 1 (Graham's 0.01 to 0.99)."""
    ham_rate = 2 * in_ham / max(knowledge.ham, 1)  # ham counts double: a false positive costs more
    spam_rate = in_spam / max(knowledge.spam, 1)
    if in_ham * 2 + in_spam < 3:
        return None  # too rarely seen to say anything
    return min(0.99, max(0.01, spam_rate / (ham_rate + spam_rate)))


def spam_probability(found, knowledge):
    """Naive Bayes over the most telling tokens; None until the site has taught the filter enough."""
    if not knowledge.ready():
        return None
    counts = knowledge.counts or {}
    probabilities = []
    for token in found:
        in_ham, in_spam = counts.get(token, (0, 0))
        if (probability := token_probability(in_ham, in_spam, knowledge)) is not None:
            probabilities.append(probability)
    telling = sorted(probabilities, key=lambda p: abs(p - 0.5), reverse=True)[:INTERESTING]
    if not telling:
        return 0.5
    spam_log = sum(math.log(p) for p in telling)
    ham_log = sum(math.log(1 - p) for p in telling)
    return 1 / (1 + math.exp(ham_log - spam_log))


def _script(text):
    """The writing system most of the text's letters belong to: LATIN, CYRILLIC, CJK and so on."""
    sample = text[:SCRIPT_SAMPLE]
    if sample.isascii():  # most comments: no need to name each letter
        return "LATIN" if any(char.isalpha() for char in sample) else None
    scripts: Counter[str] = Counter()
    for char in sample:
        if char.isalpha():
            script = unicodedata.name(char, "UNKNOWN").split(" ")[0]
            scripts["CJK" if script in ("CJK", "HIRAGANA", "KATAKANA") else script] += 1
    return scripts.most_common(1)[0][0] if scripts else None


def heuristics(body, website, first_time, site_script):
    """Antispam Bee's kind of signs, each with its weight: [(weight, reason)]."""
    found = []
    links = markup.link_urls(body)
    words = len(_WORD.findall(body))
    if len(links) >= 2 and len(links) / max(words, 1) > 0.08:
        found.append((0.4, f"{len(links)} links in {words} words"))
    text = body.lower()
    phrases = [phrase for phrase in SPAM_PHRASES if phrase in text]
    if phrases:
        found.append((min(0.3 * len(phrases), 0.6), f"reads like an advertisement ({', '.join(phrases[:3])})"))
    script = _script(body)
    if site_script and script and script != site_script:
        found.append((0.5, f"written in {script.title()} script, unlike this site's comments"))
    own = hosts([website])
    if own and own[0] in hosts(links):
        found.append((0.3, "links its own website from the text"))
    if first_time and links:
        found.append((0.2, "a first comment that links elsewhere"))
    return found


# What the site has taught it, in the database ------------------------------------------------------

# Built once: on every post's path, building a statement costs SQLAlchemy more than the database's run of it.
# PostgreSQL takes the tokens as one array, so the statement's text is the same for every post and the
# server plans it once; an IN list of each post's own length is new text, parsed and planned each time.
_SITES_TOKENS = (db.select(FilterToken.token, FilterToken.ham, FilterToken.spam)
                 .where(FilterToken.site_id == bindparam("site_id")))
_KNOWN_TOKENS = {
    "sqlite": _SITES_TOKENS.where(FilterToken.token.in_(bindparam("tokens", expanding=True))),
    "postgresql": _SITES_TOKENS.where(FilterToken.token == any_(bindparam("tokens", type_=ARRAY(String)))),
}


def knowledge_for(site, found):
    """The site's counts for these tokens only: one query, whatever the site has learned."""
    statement = _KNOWN_TOKENS[db.session.get_bind().dialect.name]
    rows = run_core(statement, {"site_id": site.id, "tokens": sorted(found)})
    return Knowledge(site.filter_ham or 0, site.filter_spam or 0, {token: (ham, spam) for token, ham, spam in rows})


# (site id, its creation moment) -> (when to look again, script): a site's script changes slowly,
# and finding it reads 50 comments, so each process looks again every few minutes.
_SCRIPTS: dict[tuple, tuple[float, str]] = {}
SCRIPT_SECONDS = 300


def site_script(site, sample=50):
    """The script most of the site's recent approved comments are written in; None with too few of them."""
    key = (site.id, site.created_at)
    known = _SCRIPTS.get(key)
    if known is not None and known[0] > time.monotonic():
        return known[1]
    bodies = db.session.scalars(
        db.select(Comment.body).join(Thread, Thread.id == Comment.thread_id)
        .where(Thread.site_id == site.id, Comment.status == "approved")
        .order_by(Comment.id.desc()).limit(sample)).all()
    if len(bodies) < 10:
        return None  # not remembered: a new site's script is known as soon as it has enough comments
    script = Counter(script for body in bodies if (script := _script(body))).most_common(1)[0][0]
    _SCRIPTS[key] = (time.monotonic() + SCRIPT_SECONDS, script)
    return script


def comment_tokens(comment):
    return tokens(comment.body, comment.author_name, comment.author_email, comment.author_website)


def teach(site, comment, label):
    """Count the comment as `label` ("ham" or "spam") for the site's filter, taking back an earlier lesson."""
    if comment.trained_as == label or comment.status == "deleted":
        return
    found = comment_tokens(comment)
    rows = {row.token: row for row in db.session.scalars(
        db.select(FilterToken).where(FilterToken.site_id == site.id, FilterToken.token.in_(sorted(found))))}
    step = {"ham": (1, 0), "spam": (0, 1)}[label]
    undo = {"ham": (-1, 0), "spam": (0, -1)}.get(comment.trained_as, (0, 0))
    for token in found:
        row = rows.get(token) or FilterToken(site_id=site.id, token=token, ham=0, spam=0)
        row.ham = max(0, row.ham + step[0] + undo[0])
        row.spam = max(0, row.spam + step[1] + undo[1])
        db.session.add(row)
    site.filter_ham = max(0, (site.filter_ham or 0) + step[0] + undo[0])
    site.filter_spam = max(0, (site.filter_spam or 0) + step[1] + undo[1])
    comment.trained_as = label
