"""The audit log: every moderator action, with who did it, when, and the state before and after."""
from .extensions import db
from .models import AuditEntry, utcnow

PAGE_SIZE = 50


def record(actor, site, action, target_type, target_id=None, before=None, after=None, now=None, actor_name=None):
    """Add one entry to the caller's transaction (the caller commits it with the change itself).

    `site` None is a server-wide entry; `actor_name` names an actor who is no user (default "command line").
    """
    if actor is not None:
        actor_name = actor.display_name
    entry = AuditEntry(
        site_id=site.id if site is not None else None, actor_id=actor.id if actor is not None else None,
        actor_name=(actor_name or "command line")[:100], action=action,
        target_type=target_type, target_id=target_id, before=before, after=after, created_at=now or utcnow(),
    )
    db.session.add(entry)
    return entry


def entries(site, action=None, before_id=None, limit=PAGE_SIZE):
    """The site's entries, newest first, a page at a time (keyed on the id, so new entries don't shift pages)."""
    query = db.select(AuditEntry).where(AuditEntry.site_id == site.id)
    if action:
        query = query.where(AuditEntry.action == action)
    if before_id:
        query = query.where(AuditEntry.id < before_id)
    found = list(db.session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit + 1)))
    more = len(found) > limit
    return found[:limit], (found[limit - 1].id if more else None)


def actions(site):
    """The distinct actions logged for the site, for the filter."""
    return sorted(db.session.scalars(
        db.select(AuditEntry.action).where(AuditEntry.site_id == site.id).distinct()))


def changes(entry):
    """[(field, before, after)] for every field the entry recorded, changed ones first."""
    before, after = entry.before or {}, entry.after or {}
    keys = list(dict.fromkeys([*before, *after]))
    rows = [(k, before.get(k), after.get(k)) for k in keys]
    return sorted(rows, key=lambda row: row[1] == row[2])
