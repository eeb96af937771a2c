"""Imports as background jobs: an owner's upload queued in the outbox and run by a sender, which keeps the
import's progress on the job so that any request (a reload, another tab) sees how far it got."""
import logging
import re
import secrets
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path

from . import audit, imports, outbox
from .errors import InvalidInput, NotFound
from .extensions import db
from .models import MAX_ID, Job, Site, utcnow
from .urls import normalise_url

log = logging.getLogger(__name__)

KIND = "import"  # the outbox job's kind
# Comments read between commits: each commit shows the progress to other requests and renews the lease.
BATCH_SIZE = 1000
# An import that keeps stopping (the server restarted mid-way, the database went away) is tried this often.
ATTEMPTS = 3
# A dry run is one transaction rolled back at its end, so it cannot renew its lease as it goes: it takes a
# long one at the start. A sender that dies during one leaves the job this long before another retries it.
DRY_RUN_LEASE = timedelta(hours=1)
# The uploaded file's name on disk is random; only the kind gives its extension.
SUFFIXES = {"wordpress": "xml", "disqus": "xml", "isso": "sqlite3", "remark42": "jsonl", "json": "jsonl"}
# Which file each kind is, in the owner's words.
SOURCES = {
    "wordpress": "In WordPress: Tools → Export → All content. Upload the .xml file it downloads.",
    "disqus": "In Disqus: Admin → Moderation → Export. Upload the .xml file from the email (unpacked if it "
              "ends in .gz).",
    "isso": "Isso's database: the SQLite file its configuration names as dbpath, often comments.db.",
    "remark42": "A Remark42 backup (backup-SITE-DATE.gz in its backup folder) or export, compressed or not.",
    "json": "A Parley export (.jsonl), as Export on this page downloads it, here or on another server.",
}
ACTIVE = ("waiting", "running", "retrying")
STATES = {"waiting": "Waiting", "running": "Running", "retrying": "Will retry", "done": "Done",
          "failed": "Failed"}
# The summary names the command line's options; on the dashboard they are fields of the form.
OPTION_WORDS = (("(add them, or use --map-url)", "(add them in Settings, or rewrite their addresses)"),
                ("(--pingbacks skip)", "(left out, as asked)"))
UNDO_WORDS = re.compile(r"to take back what it added, run import undo \d+\.$")


class ImportInvalid(InvalidInput):
    """The form asks for an import that cannot be: `errors` says why, field by field."""

    code = "invalid_import"

    def __init__(self, errors):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class Choice:
    """What the owner asked for, checked; kept in the job's payload as it is."""

    kind: str
    map_url: str | None = None  # "OLD→NEW", both normalised
    pingbacks: str = "keep"  # WordPress only
    base_url: str | None = None  # Isso only
    dry_run: bool = False


def check(site, kind, map_from="", map_to="", pingbacks="keep", base_url="", dry_run=False):
    """The form's choices as a Choice; raises ImportInvalid naming each field that is wrong."""
    errors = {}
    if kind not in imports.KINDS:
        errors["kind"] = "Choose which kind of file this is."
    map_url = None
    if map_from or map_to:
        if not (map_from and map_to):
            errors["map"] = "Give both the old address and the new one, or neither."
        elif len(map_from) > 2048 or len(map_to) > 2048:
            errors["map"] = "Those addresses are too long to be page addresses."
        else:
            try:
                rule = imports.parse_url_rule(f"{map_from}→{map_to}")
                map_url = f"{rule.old}→{rule.new}"
            except InvalidInput:
                errors["map"] = "Both addresses must be http or https addresses, such as http://old.example.com/."
    if kind == "wordpress" and pingbacks not in imports.PINGBACK_CHOICES:
        errors["pingbacks"] = "Keep pingbacks or leave them out."
    address = None
    if kind == "isso":
        if base_url:
            address = normalise_url(base_url) if len(base_url) <= 2048 else None
            if address is None:
                errors["base_url"] = "The address must be an http or https address, such as https://blog.example.com."
        elif not site.origins:
            errors["base_url"] = "Isso keeps paths, not addresses: give the address its pages live at."
    if errors:
        raise ImportInvalid(errors)
    return Choice(kind, map_url, pingbacks if kind == "wordpress" else "keep", address, bool(dry_run))


def upload_folder(configured, instance_path):
    """Where uploads wait for their job: IMPORT_FOLDER, or "imports" in the instance folder."""
    return Path(configured) if configured else Path(instance_path) / "imports"


def stored_name(kind):
    """A new random file name for an upload of this kind: the name the owner's file had is never a path here."""
    return f"{secrets.token_hex(16)}.{SUFFIXES[kind]}"


def display_name(raw):
    """The uploaded file's name as shown: its last part, printable characters only, at most 200 of them."""
    name = re.split(r"[\\/]", raw or "")[-1]
    return "".join(ch for ch in name if ch.isprintable()).strip()[:200] or "upload"


def queue_import(actor, site, choice, stored, file_name, size, now=None):
    """Queue the import of an uploaded file (`stored` in the upload folder) into `site`; returns the job."""
    now = now or utcnow()
    payload = asdict(choice) | {"stored": stored, "file_name": file_name, "size": size, "started_at": None,
                                "progress": None, "summary": None, "lines": None,
                                "by": actor.display_name if actor is not None else "dashboard"}
    job = outbox.enqueue(KIND, payload, site_id=site.id, now=now)
    audit.record(actor, site, "site.import", "site", site.id, now=now, after={
        "source": imports.LABELS[choice.kind], "file": file_name, "bytes": size, "dry_run": choice.dry_run,
        "map_url": choice.map_url, "pingbacks": choice.pingbacks if choice.kind == "wordpress" else None,
        "base_url": choice.base_url})
    db.session.commit()
    return job


def jobs_of(site, limit=20):
    """The site's imports, newest first."""
    return outbox.recent(site.id, KIND, limit)


def job_of(site, job_id):
    """The site's import with this id; NotFound for any other job, another site's above all."""
    job = db.session.get(Job, job_id) if 0 < job_id <= MAX_ID else None
    if job is None or job.site_id != site.id or job.kind != KIND:
        raise NotFound("no such import", code="unknown_import")
    return job


# Running ---------------------------------------------------------------------------------------

def run_job(job, secret_key, folder, lease_seconds):
    """Do an import job for the outbox's sender: returns the summary's first line, or raises GiveUp or Retry.

    The import commits every BATCH_SIZE comments, and its progress callback writes the progress and a
    renewed lease onto the job in the same transaction: SQLite has one writer, and it is the import.
    """
    payload = job.payload
    path = Path(folder) / payload["stored"]
    if job.attempts > ATTEMPTS:
        _discard(path)
        raise outbox.GiveUp(f"The import stopped {ATTEMPTS} times without finishing; the server's log says why.")
    if not path.is_file():  # (a worker that does not see the web servers' IMPORT_FOLDER, say)
        raise outbox.GiveUp("The uploaded file is not on the server any more: upload it again.")
    site = db.session.get(Site, job.site_id)
    dry_run = payload["dry_run"]
    options = imports.ImportOptions(
        secret_key=secret_key, dry_run=dry_run, pingbacks=payload["pingbacks"], base_url=payload["base_url"],
        map_urls=(imports.parse_url_rule(payload["map_url"]),) if payload["map_url"] else (),
        batch_size=None if dry_run else BATCH_SIZE, source_name=payload["file_name"],
        run_by=payload.get("by") or "dashboard")
    lease = timedelta(seconds=lease_seconds)
    job.payload = payload | {"started_at": _iso(utcnow()), "progress": None}
    if dry_run:
        job.locked_until = utcnow() + max(lease, DRY_RUN_LEASE)
    db.session.commit()
    unit = "rows" if payload["kind"] == "isso" else "bytes"

    def progress(done, total):
        if dry_run:
            return  # nothing it writes is committed before it ends, progress included
        job.payload = job.payload | {"progress": {"done": done, "total": total, "unit": unit}}
        job.locked_until = utcnow() + lease

    try:
        summary = imports.run_import(payload["kind"], str(path), site, options, progress=progress)
    except InvalidInput as failure:  # a malformed file (ImportFailed): the importer's message says where
        _discard(path)
        raise outbox.GiveUp(failure.message) from None
    except Exception as error:
        log.exception("import job %s stopped", job.id)
        if job.attempts >= ATTEMPTS:
            _discard(path)
            raise outbox.GiveUp(f"The import stopped ({type(error).__name__}); the server's log says why.") from error
        raise outbox.Retry(f"The import stopped ({type(error).__name__}); it will be tried again, and "
                           "skips what it imported already.") from error
    _discard(path)
    lines = summary_lines(summary)
    job.payload = job.payload | {"summary": summary.as_dict(), "lines": lines}
    return lines[0]


def summary_lines(summary):
    shown = []
    for line in summary.lines():
        for option, words in OPTION_WORDS:
            line = line.replace(option, words)
        shown.append(UNDO_WORDS.sub("Undo, in the list of imports on this page, takes back what it added.", line))
    return shown


def _discard(path):
    """Delete an upload whose job has ended, done or failed for good."""
    try:
        path.unlink(missing_ok=True)
    except OSError:
        log.warning("could not delete the upload %s", path, exc_info=True)


# Showing ---------------------------------------------------------------------------------------

def describe(job, now=None):
    """What the dashboard shows of an import, as JSON-ready data (the page and its polling share it)."""
    payload = job.payload
    now = now or utcnow()
    state = _state(job, now)
    progress = payload.get("progress") if state == "running" else None
    percent = None
    if progress and progress["total"]:
        percent = min(100, progress["done"] * 100 // progress["total"])
    return {
        "id": job.id, "state": state, "active": state in ACTIVE,
        "state_label": "Checked" if state == "done" and payload["dry_run"] else STATES[state],
        "kind": payload["kind"], "label": imports.LABELS[payload["kind"]], "file_name": payload["file_name"],
        "size": payload["size"], "size_text": size_text(payload["size"]), "dry_run": payload["dry_run"],
        "progress": progress, "percent": percent, "text": _text(job, state, progress, percent, now),
        "lines": (payload.get("lines") or []) if state == "done" else [],
        "created_at": _iso(job.created_at), "finished_at": _iso(job.finished_at),
    }


def _state(job, now):
    if job.status in ("done", "failed"):
        return job.status
    if job.locked_until is not None and job.locked_until > now:
        return "running"
    return "retrying" if job.attempts else "waiting"


def _text(job, state, progress, percent, now):
    """The one line that says where the import is (read out by screen readers as it changes)."""
    payload = job.payload
    if state == "waiting":
        return "Waiting to start."
    if state == "retrying":
        when = f"Next try after {job.run_at:%H:%M} UTC." if job.run_at > now else "It is taken up again shortly."
        return f"{job.result or 'Interrupted.'} {when}"
    if state == "failed":
        return f"Failed: {job.result or 'no reason was given.'}"
    if state == "done":
        return "Checked: nothing was written." if payload["dry_run"] else "Done."
    if payload["dry_run"]:
        return "Checking the file; a dry run shows what it found when it ends."
    if not progress:
        return "Starting."
    done, total = progress["done"], progress["total"]
    if progress["unit"] == "rows":
        read = f"{done:,} of {total:,} comments read" if total else f"{done:,} comments read"
    else:
        read = f"{size_text(done)} of {size_text(total)} read" if total else f"{size_text(done)} read"
    return read + (f" ({percent}%)." if percent is not None else ".")


def size_text(count):
    """A number of bytes as people read it: "812 bytes", "3.4 MB", "256 MB"."""
    for unit, size in (("GB", 2**30), ("MB", 2**20), ("KB", 2**10)):
        if count >= size:
            value = count / size
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{count} bytes"


def _iso(moment):
    return moment.isoformat(timespec="seconds") + "Z" if moment else None
