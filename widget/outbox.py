"""The outbox: jobs written in the caller's transaction, claimed by one sender each, retried with backoff."""
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, case, func, or_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .extensions import db, run_core
from .models import Job, utcnow

# The session's note of the kinds of job it queued, which the sender in this process watches, to start on a
# job as soon as it is committed (in the lane that takes its kind).
QUEUED_FLAG = "parley_outbox_queued"
_ENQUEUED = ("kind", "payload", "site_id", "dedupe_key", "run_at", "created_at", "status", "attempts")
_ONCE_PER_KEY: dict[str, Any] = {}


class Retry(Exception):
    """The job could not be done now (a server down, a timeout): try again later."""


class GiveUp(Exception):
    """The job can never succeed as it is (an address refused, a target not allowed): stop trying."""


# An exchange cut at its deadline cost its lane all of it: the job gets one more try later (the other side may
# have been busy), not the dozen other failures get, which a host slow on purpose would turn into hours of
# a lane's time (twenty webhooks at a black hole, say, on every event).
TIMED_OUT_ATTEMPTS = 2


def after_timeout(job, what):
    """What a job whose exchange with another server ran out of time raises: Retry, or GiveUp once it has had
    TIMED_OUT_ATTEMPTS attempts."""
    if job.attempts >= TIMED_OUT_ATTEMPTS:
        return GiveUp(f"{what} on attempt {job.attempts}: not tried again")
    return Retry(what)


@dataclass(frozen=True)
class Backoff:
    """first * 2^(attempt-1) seconds, at most `longest`, with a little jitter; `attempts` tries in all."""

    first: float = 30.0
    longest: float = 6 * 3600.0
    attempts: int = 12

    def delay(self, attempt):
        base = min(self.longest, self.first * 2 ** max(0, attempt - 1))
        return base * random.uniform(0.9, 1.1)


def enqueue(kind, payload, *, site_id=None, run_at=None, now=None):
    """Add a job to the caller's transaction, and return it."""
    job = Job(kind=kind, payload=payload, site_id=site_id, run_at=run_at or now or utcnow(), created_at=now or utcnow())
    db.session.add(job)
    db.session.info.setdefault(QUEUED_FLAG, set()).add(kind)
    return job


def enqueue_once(kind, payload, dedupe_key, *, site_id=None, run_at=None, now=None):
    """Add a job to the caller's transaction unless one with this key was ever added; whether it was."""
    values = {"kind": kind, "payload": payload, "site_id": site_id, "dedupe_key": dedupe_key,
              "run_at": run_at or now or utcnow(), "created_at": now or utcnow(), "status": "queued", "attempts": 0}
    added = run_core(_once_per_key(db.session.get_bind().dialect.name), values).first() is not None
    if added:
        db.session.info.setdefault(QUEUED_FLAG, set()).add(kind)
    return added


def _once_per_key(dialect_name):
    """INSERT … ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, built once per database kind: of two twins
    the second adds nothing, in one statement and without a savepoint. A new comment's job is on every
    post's path, where building a statement, or an ORM object from its row, costs more than running it."""
    if dialect_name not in _ONCE_PER_KEY:
        insert: Any = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}[dialect_name]
        table = Job.__table__
        _ONCE_PER_KEY[dialect_name] = (insert(table).values({name: bindparam(name) for name in _ENQUEUED})
                                       .on_conflict_do_nothing(index_elements=[table.c.dedupe_key])
                                       .returning(table.c.id))
    return _ONCE_PER_KEY[dialect_name]


def claim(worker, now, lease_seconds, skip_kinds=(), kinds=None, after_site=None):
    """The next due job (of `kinds` when given), claimed for `lease_seconds` by `worker` and committed as
    claimed, or None.

    Fair between sites, so that one site's flood of slow jobs (its twenty webhooks at a black hole, a /48
    sending Webmentions) holds up nobody else's in the same lane: sites with none of these kinds running come
    first, then the site after `after_site` (the one this sender served last) in turn, and each site's jobs in
    the order they fell due. The claim is one conditional UPDATE: of two senders racing for a job, exactly
    one changes the row.
    """
    lane = []
    if kinds is not None:
        lane.append(Job.kind.in_(list(kinds)))
    if skip_kinds:
        lane.append(Job.kind.not_in(list(skip_kinds)))
    site = func.coalesce(Job.site_id, 0)
    running = db.select(func.coalesce(Job.site_id, 0)).where(Job.status == "queued", Job.locked_until >= now, *lane)
    order = [case((site.in_(running), 1), else_=0)]
    if after_site is not None:
        order.append(case((site > after_site, 0), else_=1))
    due = (db.select(Job.id)
           .where(Job.status == "queued", Job.run_at <= now, or_(Job.locked_until.is_(None), Job.locked_until < now),
                  *lane)
           .order_by(*order, site, Job.run_at, Job.id).limit(20))
    for job_id in list(db.session.scalars(due)):
        claimed = db.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "queued",
                   or_(Job.locked_until.is_(None), Job.locked_until < now))
            .values(locked_until=now + timedelta(seconds=lease_seconds), locked_by=worker,
                    attempts=Job.attempts + 1)
            .execution_options(synchronize_session=False))
        db.session.commit()
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            return db.session.get(Job, job_id, populate_existing=True)
    db.session.commit()
    return None


def finish(job, result, now=None):
    job.status, job.result = "done", result[:500]
    job.finished_at = now or utcnow()
    job.locked_until = job.locked_by = None
    db.session.commit()


def fail(job, error, backoff, now=None, permanent=False):
    """Record a failed attempt: due again after the backoff, or failed for good after the last attempt."""
    now = now or utcnow()
    job.result = str(error)[:500]
    job.locked_until = job.locked_by = None
    if permanent or job.attempts >= backoff.attempts:
        job.status, job.finished_at = "failed", now
    else:
        job.run_at = now + timedelta(seconds=backoff.delay(job.attempts))
    db.session.commit()


def recent(site_id, kind, limit=20):
    """The site's latest jobs of one kind, newest first: what the dashboard shows of deliveries."""
    return list(db.session.scalars(
        db.select(Job).where(Job.site_id == site_id, Job.kind == kind).order_by(Job.id.desc()).limit(limit)))


@dataclass(frozen=True)
class Summary:
    queued: int
    failed: int
    last_failure: str | None


def summary(site_id, kind, since):
    """How the site's jobs of one kind are doing: waiting now, failed for good since `since`, the last reason."""
    count = db.func.count(Job.id)
    base = db.select(count).where(Job.site_id == site_id, Job.kind == kind)
    queued = db.session.scalar(base.where(Job.status == "queued"))
    failed = db.session.scalar(base.where(Job.status == "failed", Job.finished_at >= since))
    last = db.session.scalar(
        db.select(Job.result).where(Job.site_id == site_id, Job.kind == kind, Job.status != "done",
                                    Job.result.is_not(None)).order_by(Job.id.desc()).limit(1))
    return Summary(queued or 0, failed or 0, last)


