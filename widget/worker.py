"""The outbox's sender: claims due jobs and does them (renders and sends emails, delivers webhooks,
checks Webmentions and origins waiting for proof, runs imports uploaded in the dashboard), in threads of
each server process or as `flask --app app worker`.

Jobs run in lanes, each claiming only its own kinds: a Webmention source that takes its whole deadline
to answer, a slow webhook receiver or a long import holds up its own lane, never the emails of every
site. Within a lane, sites take turns (outbox.claim), so that one site's flood waits behind itself; the
lanes that wait on other servers (fetch, webhook) have more than one thread.
"""
import logging
import os
import threading
import time
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

from flask import g, render_template, url_for
from sqlalchemy import event
from sqlalchemy.orm import Session

from . import import_jobs, notifications, outbox, sites, webhooks, webmentions
from .emails import Letter, SmtpConnection, SmtpRefused, SmtpSettings, SmtpUnavailable, compose
from .extensions import db
from .i18n import direction, translate
from .models import Comment, Recipient, Site, Subscription, utcnow
from .outbound import Refused, Unreachable

log = logging.getLogger(__name__)
BATCH = 100
# Each lane's kinds of job; the mail lane takes emails, the notifications that fan out to them, and any
# kind no other lane names.
LANES: dict[str, tuple[str, ...] | None] = {
    "mail": None,
    # Pages that strangers name, and origins an owner claims: the least trusted, the likeliest to be slow.
    "fetch": ("webmention", sites.CHECK_KIND),
    "webhook": ("webhook",),
    "import": (import_jobs.KIND,),
}
# The lanes whose number of threads is a setting (OUTBOX_FETCH_THREADS, OUTBOX_WEBHOOK_THREADS); others have one.
THREADED_LANES = ("fetch", "webhook")
# Each waiting lane's event, and its lane: set when this process commits a job of the lane's kinds, so that
# the lane starts on it at once.
_wakes: dict[threading.Event, str] = {}


class Obsolete(Exception):
    """The job is no longer wanted (the reader unsubscribed, the comment went): done without sending."""


def _backoff(app):
    return outbox.Backoff(first=float(app.config["OUTBOX_RETRY_FIRST_SECONDS"]),
                          attempts=int(app.config["OUTBOX_ATTEMPTS"]))


# Emails ------------------------------------------------------------------------------------

def _link(base, endpoint, **values):
    return base.rstrip("/") + url_for(endpoint, **values)


def _comment_link(comment):
    return f"{comment.thread.url}#comment-{comment.id}" if comment.thread.url else None


def _approved_comment(comment_id):
    comment = db.session.get(Comment, comment_id)
    if comment is None or comment.status != "approved":
        raise Obsolete("the comment is no longer published")
    return comment


def _review_links(base, secret, comment, to):
    """A waiting comment's link on its page, and the single-use links that approve it or mark it as spam."""
    links = {f"{action}_url": _link(base, "mail.moderate",
                                    token=notifications.moderate_token(secret, comment.id, action, to))
             for action in ("approve", "spam")}
    return {"comment_url": _comment_link(comment), **links}


def _site_links(base, site):
    """The site, and its dashboard pages a moderator's email points to."""
    return {"site": site, "queue_url": _link(base, "dashboard.queue", site_id=site.public_id),
            "settings_url": _link(base, "dashboard.settings", site_id=site.public_id)}


def _letter(app, job):
    """The email a job stands for, rendered now (in the reader's language) from what is stored now."""
    payload, secret = job.payload, app.secret_key
    base = app.config["PUBLIC_URL"] or payload.get("base") or "http://localhost"
    template = payload["template"]
    values = {"base": base}
    to, language, unsubscribe = payload.get("to"), "en", None
    recipient = None
    if template in ("confirm", "reply", "thread"):
        recipient = db.session.get(Recipient, payload["recipient_id"])
        if recipient is None:
            raise Obsolete("the address was erased")
        to, language = recipient.email, recipient.language
        values["manage_url"] = _link(base, "mail.manage", token=notifications.manage_token(secret, recipient))
    if template == "confirm" and recipient is not None:
        if recipient.confirmed_at is not None:
            raise Obsolete("the address is confirmed already")
        comment = db.session.get(Comment, payload["comment_id"])
        values |= {"comment": comment, "site": comment.thread.site if comment else None,
                   "confirm_url": _link(base, "mail.confirm", token=notifications.confirm_token(secret, recipient))}
    elif template in ("reply", "thread") and recipient is not None:
        subscription = db.session.get(Subscription, payload["subscription_id"])
        if subscription is None or recipient.confirmed_at is None:
            raise Obsolete("the reader unsubscribed")
        comment = _approved_comment(payload["comment_id"])
        unsubscribe = _link(base, "mail.unsubscribe", token=notifications.unsubscribe_token(secret, subscription))
        parent = db.session.get(Comment, comment.parent_id) if comment.parent_id else None
        values |= {"comment": comment, "parent": parent, "site": comment.thread.site, "thread": comment.thread,
                   "comment_url": _comment_link(comment), "unsubscribe_url": unsubscribe, "kind": template}
        template = "comment"  # one set of templates for both: a reply to them, or a comment on a page they follow
    elif template == "moderation":
        comment = db.session.get(Comment, payload["comment_id"])
        if comment is None or comment.status != "pending":
            raise Obsolete("the comment no longer waits")
        values |= {"comment": comment, "thread": comment.thread, **_review_links(base, secret, comment, to),
                   **_site_links(base, comment.thread.site)}
    elif template == "digest":
        digest_site = db.session.get(Site, payload["site_id"])
        waiting = db.session.scalars(db.select(Comment).where(
            Comment.id.in_(payload["comment_ids"]), Comment.status == "pending").order_by(Comment.created_at,
                                                                                          Comment.id)).all()
        if digest_site is None or not waiting:
            raise Obsolete("nothing waits any more")
        values |= {"items": [{"comment": c, **_review_links(base, secret, c, to)} for c in waiting],
                   "total": max(payload.get("total") or 0, len(waiting)), "every_minutes": payload.get("every_minutes"),
                   **_site_links(base, digest_site)}
    else:
        raise outbox.GiveUp(f"unknown email template {template!r}")

    def t(key, **kwargs):
        return translate(language, key, **kwargs)

    values |= {"t": t, "lang": language, "dir": direction(language)}
    subject = render_template(f"emails/{template}.subject.txt", **values).strip()
    host = urlsplit(base).hostname or "localhost"
    return Letter(to=to, subject=" ".join(subject.split()), text=render_template(f"emails/{template}.txt", **values),
                  html=render_template(f"emails/{template}.html", **values),
                  message_id=f"<parley.{job.id}.{job.created_at:%Y%m%d%H%M%S}@{host}>",
                  unsubscribe_url=unsubscribe, language=language)


def _send_email(app, job, smtp):
    letter = _letter(app, job)
    # No transaction (nor SQLite's write lock) is held while the mail server takes its time.
    db.session.commit()
    smtp.send(compose(letter, SmtpSettings.from_config(app.config).sender))
    return "sent"


# Dispatch ------------------------------------------------------------------------------------

def _published(app, job, _smtp):
    return notifications.fan_out_published(job.payload["comment_id"], job.payload.get("base"), utcnow())


def _held(app, job, _smtp):
    return notifications.fan_out_held(job.payload["comment_id"], job.payload.get("base"), utcnow(),
                                      every=timedelta(minutes=float(app.config["MODERATOR_ALERT_MINUTES"])))


def _digest(app, job, _smtp):
    return notifications.fan_out_digest(job.payload["site_id"], job.payload.get("base"), utcnow(),
                                        period=job.payload.get("period"), minutes=job.payload.get("minutes"))


def _budget(app, kind):
    """The deadline of one job's whole exchange with another server, in seconds."""
    return float(app.config[f"{kind.upper()}_TIMEOUT_SECONDS"] or app.config["OUTBOUND_TIMEOUT_SECONDS"])


def _webhook(app, job, _smtp):
    return webhooks.deliver(job, allow_private=app.config["ALLOW_PRIVATE_TARGETS"], timeout=_budget(app, "webhook"))


def _webmention(app, job, _smtp):
    return webmentions.verify(job, allow_private=app.config["ALLOW_PRIVATE_TARGETS"],
                              timeout=_budget(app, "webmention"))


def _origin_check(app, job, _smtp):
    # One deadline for the whole check, however many origins wait: they are asked side by side.
    return sites.run_check(job, allow_private=app.config["ALLOW_PRIVATE_TARGETS"],
                           timeout=float(app.config["OUTBOUND_TIMEOUT_SECONDS"]))


def _import(app, job, _smtp):
    folder = import_jobs.upload_folder(app.config["IMPORT_FOLDER"], app.instance_path)
    return import_jobs.run_job(job, secret_key=app.secret_key, folder=folder,
                               lease_seconds=float(app.config["OUTBOX_LEASE_SECONDS"]))


HANDLERS = {"email": _send_email, "published": _published, "held": _held, "digest": _digest,
            "webhook": _webhook, "webmention": _webmention, sites.CHECK_KIND: _origin_check, import_jobs.KIND: _import}
RETRY = (outbox.Retry, SmtpUnavailable, Unreachable)
GIVE_UP = (outbox.GiveUp, SmtpRefused, Refused)


def _lane_kinds(lane):
    """(kinds, skip_kinds): what a lane claims; every kind for no lane."""
    if lane is None:
        return None, set()
    if LANES[lane] is None:
        return None, {kind for kinds in LANES.values() if kinds for kind in kinds}
    return LANES[lane], set()


def run_pending(app, worker=None, limit=BATCH, stop=None, lane=None):
    """Do up to `limit` due jobs (of one lane's kinds, or all), one claim at a time (until `stop` is set);
    returns how many were taken."""
    worker = worker or f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    backoff = _backoff(app)
    lease = float(app.config["OUTBOX_LEASE_SECONDS"])
    taken = 0
    served = None  # the site of the last job taken: the next claim goes to the sites after it first
    kinds, skip = _lane_kinds(lane)
    settings = SmtpSettings.from_config(app.config)
    if not settings.host:
        skip.add("email")  # with no SMTP server configured, emails wait (spending no attempts) until there is one
    # A request context only so that url_for() builds the emails' links; every transaction here may write.
    with app.app_context(), app.test_request_context():
        g.parley_writes = True
        smtp = SmtpConnection(settings)
        try:
            while taken < limit and not (stop and stop.is_set()):
                job = outbox.claim(worker, utcnow(), lease, skip_kinds=skip, kinds=kinds, after_site=served)
                if job is None:
                    break
                taken, served = taken + 1, job.site_id or 0
                try:
                    handler = HANDLERS.get(job.kind)
                    if handler is None:
                        raise outbox.GiveUp(f"no sender knows jobs of kind {job.kind!r}")
                    outbox.finish(job, handler(app, job, smtp))
                except Obsolete as reason:
                    db.session.rollback()
                    outbox.finish(job, f"not sent: {reason}")
                except RETRY as error:
                    db.session.rollback()
                    outbox.fail(job, error, backoff)
                    if isinstance(error, SmtpUnavailable):
                        skip.add("email")  # the rest wait for the server too, without each timing out
                except GIVE_UP as error:
                    db.session.rollback()
                    outbox.fail(job, error, backoff, permanent=True)
                except Exception as error:  # a bug must cost one job an attempt, not stop the sender
                    log.exception("outbox job %s (%s) failed", job.id, job.kind)
                    db.session.rollback()
                    outbox.fail(job, f"{type(error).__name__}: {error}", backoff)
        finally:
            smtp.close()
            db.session.remove()
    return taken


def run_due(app, worker=None):
    """Do what is due now, every lane at once, and return how many jobs were taken (`worker --once`)."""
    worker = worker or f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    counts = dict.fromkeys(LANES, 0)

    def run(lane):
        counts[lane] = run_pending(app, f"{worker}-{lane}", lane=lane)

    threads = [threading.Thread(target=run, args=(lane,), name=f"parley-sender-{lane}") for lane in LANES]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts.values())


def _run_lane(app, lane, stop, worker):
    """One lane's loop: its jobs at once when queued in this process, else every OUTBOX_POLL_SECONDS."""
    poll = float(app.config["OUTBOX_POLL_SECONDS"])
    woken = threading.Event()
    _wakes[woken] = lane
    try:
        while not stop.is_set():
            try:
                busy = run_pending(app, f"{worker}-{lane}", stop=stop, lane=lane) == BATCH
            except Exception:  # the database is away, say: wait and try again
                log.exception("the outbox sender's %s lane could not run", lane)
                busy = False
            if not busy:
                woken.wait(poll)
                woken.clear()
    finally:
        _wakes.pop(woken, None)


def lane_threads(config, lane):
    """How many threads send a lane's jobs in each process."""
    return int(config[f"OUTBOX_{lane.upper()}_THREADS"]) if lane in THREADED_LANES else 1


def _start_lanes(app, stop, worker=None):
    worker = worker or f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    _listen_for_commits()
    threads = [threading.Thread(target=_run_lane, args=(app, lane, stop, f"{worker}-{n}"),
                                name=f"parley-sender-{lane}-{n}", daemon=True)
               for lane in LANES for n in range(lane_threads(app.config, lane))]
    for thread in threads:
        thread.start()
    return threads


def _join(threads, timeout=None):
    """Wait for the threads (`timeout` seconds in all, if given); whether every one ended."""
    deadline = None if timeout is None else time.monotonic() + timeout
    for thread in threads:
        thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
    return not any(thread.is_alive() for thread in threads)


def run_forever(app, stop=None, worker=None):
    """Send, a thread per lane, until `stop` is set; then let each lane finish the job under way."""
    stop = stop or threading.Event()
    lanes = _start_lanes(app, stop, worker)
    stop.wait()
    wake()
    _join(lanes)


def _lane_of(kind):
    """The lane that takes a kind of job: the one naming it, else the one taking the rest."""
    named = [lane for lane, kinds in LANES.items() if kinds and kind in kinds]
    return named[0] if named else next(lane for lane, kinds in LANES.items() if kinds is None)


def wake(kinds=None):
    """Wake this process's waiting lanes: all of them, or those that take one of `kinds`."""
    lanes = None if kinds is None else {_lane_of(kind) for kind in kinds}
    for lane_wake, lane in list(_wakes.items()):
        if lanes is None or lane in lanes:
            lane_wake.set()


def _after_commit(session):
    kinds = session.info.pop(outbox.QUEUED_FLAG, None)
    if kinds:
        wake(kinds)


_listening = False


def _listen_for_commits():
    global _listening
    if not _listening:
        event.listen(Session, "after_commit", _after_commit)
        _listening = True


_started: dict[tuple[int, int], list[threading.Thread]] = {}
_start_lock = threading.Lock()


def start_in_background(app):
    """Start this process's sender on the app's first request (after any fork, so each worker has its own)."""
    stop = app.extensions.setdefault("parley_sender_stop", threading.Event())

    def ensure_started():
        key = (os.getpid(), id(app))
        if key in _started:
            return
        with _start_lock:
            if key not in _started:
                _started[key] = _start_lanes(app, stop)

    app.before_request(ensure_started)


def stop_in_background(app, timeout=10.0):
    """Stop every lane of this process's sender of the app, each finishing the job under way (tests, a clean
    shutdown); whether all ended within `timeout` seconds."""
    stop = app.extensions.get("parley_sender_stop")
    threads = _started.pop((os.getpid(), id(app)), [])
    if stop is not None:
        stop.set()
        wake()
    return _join(threads, timeout)
