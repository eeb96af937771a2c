"""The audit log: every moderator action, with who did it, when, and the state before and after."""
from .extensions import db
from .models import AuditEntry, Ban, Comment, Invitation, Site, Thread, User, Webhook, utcnow

PAGE_SIZE = 50
LABEL_LENGTH = 300


def _quoted(text, length=80):
    text = " ".join(str(text or "").split())
    return f"“{text[:length - 1] + '…' if len(text) > length else text}”"


def _page(thread):
    return _quoted(thread.title or thread.url or "an untitled page")


# How each kind of target is named in the log, from what it is when the action happens: the
# entry keeps reading right after the comment, the ban or the account is gone.
LABELS = {
    "comment": (Comment, lambda c: f"comment by {c.author_name or 'a deleted author'} on {_page(c.thread)}"),
    "thread": (Thread, lambda t: f"page {_page(t)}"),
    "ban": (Ban, lambda b: f"ban of {b.label or b.email_hint or (b.user.display_name if b.user else 'someone')}"),
    "user": (User, lambda u: u.display_name),
    "site": (Site, lambda s: f"site {s.name}"),
    "invitation": (Invitation, lambda i: f"invitation {_quoted(i.note) if i.note else 'as ' + i.role}"),
    "webhook": (Webhook, lambda w: f"webhook to {w.url}"),
}


def target_label(target_type, target_id):
    """The target in words ("comment by Jo on “A post”"), or None when it cannot be found."""
    if target_type not in LABELS or target_id is None:
        return None
    model, label = LABELS[target_type]
    found = db.session.get(model, target_id)
    return label(found)[:LABEL_LENGTH] if found is not None else None


def _only_changes(before, after):
    """Drop the fields that are the same before and after: the log shows what the action changed."""
    if before is None or after is None:
        return before, after
    same = {key for key in before.keys() & after.keys() if before[key] == after[key]}
    return ({k: v for k, v in before.items() if k not in same} or None,
            {k: v for k, v in after.items() if k not in same} or None)


def record(actor, site, action, target_type, target_id=None, before=None, after=None, now=None, actor_name=None):
    """Add one entry to the caller's transaction (the caller commits it with the change itself).

    `site` None is a server-wide entry; `actor_name` names an actor who is no user (default "command line").
    """
    if actor is not None:
        actor_name = actor.display_name
    before, after = _only_changes(before, after)
    entry = AuditEntry(
        site_id=site.id if site is not None else None, actor_id=actor.id if actor is not None else None,
        actor_name=(actor_name or "command line")[:100], action=action,
        target_type=target_type, target_id=target_id, target_label=target_label(target_type, target_id),
        before=before, after=after, created_at=now or utcnow(),
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
