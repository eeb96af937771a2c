"""Command line: `parley site ...` (or `flask --app app site ...`), `thread ...`, `user ...`, `reader ...`,
`import ...`, `export`, `backup`, `restore` and `check`."""
import json
import signal
import sys
import threading
from functools import wraps
from pathlib import Path

import click
from flask import Blueprint, current_app
from sqlalchemy.exc import SQLAlchemyError

from . import (
    backups,
    database,
    doctor,
    exports,
    imports,
    memberships,
    moderation,
    privacy,
    sites,
    staff,
    startup,
    worker,
)
from .errors import ParleyError
from .extensions import db
from .models import Site

bp = Blueprint("cli", __name__, cli_group=None)


def writes(command):
    """A command that changes something: like a server starting, it first refuses unsafe settings, makes the
    secret key and the database, or upgrades its schema."""
    @wraps(command)
    def run(*args, **kwargs):
        try:
            database.prepare(current_app._get_current_object())  # type: ignore[attr-defined]
        except (startup.UnsafeConfiguration, database.SchemaTooNew) as error:
            raise click.ClickException(str(error)) from None
        return command(*args, **kwargs)
    return run


def reads(command):
    """A command that only reads: it makes no file (connecting to SQLite would create an empty database) and
    upgrades nothing, and says so plainly when there is no database yet or its schema is older than the code."""
    @wraps(command)
    def run(*args, **kwargs):
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        if (missing := database.missing_file(app)) is not None:
            raise click.ClickException(
                f"there is no database yet at {missing}. The server makes it when it first starts, and so does "
                "a command that writes (parley user create-admin, parley site add).")
        try:
            return command(*args, **kwargs)
        except SQLAlchemyError:
            db.session.rollback()
            if behind := database.schema_behind(app):
                stored, head = behind
                raise click.ClickException(
                    f"the database's schema is at revision {stored}, older than this version's {head}: run "
                    "parley db upgrade (a server upgrades it when it starts)") from None
            raise
    return run

SETTING_HELP = "\n".join(f"  {key:<17} {help_}" for key, (_, _, help_) in sites.SETTINGS.items())


@bp.cli.group("site")
def site_group():
    """Register sites and change their settings."""


def _fail(error):
    raise click.ClickException(error.message)


@site_group.command("add")
@click.argument("public_id")
@click.option("--name", required=True, help="The site's display name.")
@click.option("--origin", "origins", multiple=True, required=True,
              help="An origin allowed to embed the comments, e.g. https://blog.example.com (repeatable).")
@writes
def add_site(public_id, name, origins):
    """Register a site: its short public id, name and allowed origins."""
    try:
        site = memberships.add_site(None, public_id, name, list(origins))
    except ParleyError as error:
        _fail(error)
    click.echo(f"Added site {site.public_id} ({site.name}) for {', '.join(site.origins) or 'no origin yet'}.")
    _say_what_waits(site)


def _say_what_waits(site):
    """Name the origins the site waits for, and the two ways to have them granted."""
    waiting = sites.claims(site)
    if not waiting:
        return
    for claim in waiting:
        others = ", ".join(public_id for _, public_id in sites.holders(site, claim.origin))
        click.echo(f"{claim.origin} is on a host already used by {others or 'another site'}: no page there can show "
                   f"or post {site.public_id}'s comments until it is proven to be {site.public_id}'s.")
    where = (f"{waiting[0].origin}{sites.VERIFICATION_PATH}" if len(waiting) == 1 else
             f"{sites.VERIFICATION_PATH} on each of them")
    click.echo(f"To prove it, serve this line at {where}:\n  {site.verification_token}\n"
               f"then run: parley site verify {site.public_id}\n"
               f"Or, as the server's administrator, grant it without proof: parley site grant {site.public_id} ORIGIN")


@site_group.command("list")
@reads
def list_sites():
    """Every site with its settings."""
    found = db.session.scalars(db.select(Site).order_by(Site.public_id)).all()
    if not found:
        click.echo("No sites yet. Add one with: flask --app app site add ID --name NAME --origin ORIGIN")
        return
    for site in found:
        click.echo(site.public_id)
        for key, value in sites.site_settings(site).items():
            click.echo(f"  {key:<17} {value}")
        if waiting := sites.claims(site):
            click.echo(f"  {'waiting origins':<17} {', '.join(claim.origin for claim in waiting)} (parley site verify)")


@site_group.command("set", epilog="Settings:\n\n\b\n" + SETTING_HELP)
@click.argument("public_id")
@click.argument("key", metavar="KEY")
@click.argument("value")
@writes
def set_setting(public_id, key, value):
    """Change one setting of a site (see the list below)."""
    try:
        site = sites.get_site(public_id)
        sites.change_settings(None, site, {key: value})
    except sites.SettingsInvalid as error:
        raise click.ClickException("; ".join(f"{name}: {reason}" for name, reason in error.errors.items())) from None
    except ParleyError as error:
        _fail(error)
    click.echo(f"{site.public_id}: {key} = {sites.site_settings(site)[key]}")
    if key == "origins":
        _say_what_waits(site)


@site_group.command("verify")
@click.argument("public_id")
@writes
def verify_origins(public_id):
    """Grant the site the origins that wait for proof and serve its line (see `site add`)."""
    config = current_app.config
    try:
        site = sites.get_site(public_id)
        results = sites.verify_claims(None, site, allow_private=config["ALLOW_PRIVATE_TARGETS"],
                                      timeout=config["OUTBOUND_TIMEOUT_SECONDS"])
    except ParleyError as error:
        _fail(error)
    if not results:
        click.echo(f"{site.public_id} waits for no origin.")
    for origin, problem in results.items():
        click.echo(f"{origin}: {'proven, now allowed' if problem is None else 'still waits: ' + problem}")
    if any(results.values()):
        raise SystemExit(1)


@site_group.command("grant")
@click.argument("public_id")
@click.argument("origin")
@writes
def grant_origin(public_id, origin):
    """Allow an origin the site waits for without proof, as the server's administrator."""
    try:
        site = sites.get_site(public_id)
        sites.grant_claim(None, site, sites.parse_origins([origin])[0])
    except ParleyError as error:
        _fail(error)
    click.echo(f"{site.public_id}: origins = {', '.join(site.origins)}")


@bp.cli.group("thread")
def thread_group():
    """Lock and unlock threads."""


def _set_locked(public_id, page, locked):
    by_url = page.startswith(("http://", "https://"))
    try:
        thread = moderation.lock_page(None, sites.get_site(public_id), locked,
                                      url=page if by_url else None, thread_id=None if by_url else page)
    except ParleyError as error:
        _fail(error)
    click.echo(f"{'Locked' if locked else 'Unlocked'} thread {thread.id} ({thread.url or page}).")


@thread_group.command("lock")
@click.argument("public_id")
@click.argument("page", metavar="URL_OR_THREAD_ID")
@writes
def lock_thread(public_id, page):
    """Stop new comments on a page (existing ones stay visible)."""
    _set_locked(public_id, page, True)


@thread_group.command("unlock")
@click.argument("public_id")
@click.argument("page", metavar="URL_OR_THREAD_ID")
@writes
def unlock_thread(public_id, page):
    """Open a locked page to new comments again."""
    _set_locked(public_id, page, False)


@bp.cli.group("user")
def user_group():
    """Dashboard accounts: create the administrator, list accounts, reset a password."""


def _read_password(from_stdin):
    if from_stdin:
        # One line from standard input, for scripts: `printf '%s\n' "$PASSWORD" | flask user create-admin ...`
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise click.ClickException("no password on standard input")
        return password
    return click.prompt("Password", hide_input=True, confirmation_prompt="Repeat the password")


@user_group.command("create-admin")
@click.argument("email")
@click.option("--name", help="The name shown in the dashboard and audit log (default: the email's local part).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of asking.")
@writes
def create_admin(email, name, password_stdin):
    """Create an administrator, who sees and manages every site, with a password login."""
    password = _read_password(password_stdin)
    try:
        account = staff.create_account(email, password, name=name, is_admin=True,
                                       hash_method=current_app.config["PASSWORD_HASH_METHOD"])
    except ParleyError as error:
        _fail(error)
    click.echo(f"Created administrator {account.email}. Log in at /dashboard/login.")


@user_group.command("set-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of asking.")
@writes
def set_password(email, password_stdin):
    """Set a new password for a dashboard account; its open sessions end."""
    try:
        account = staff.get_account(email)
        staff.set_password(account, _read_password(password_stdin), current_app.config["PASSWORD_HASH_METHOD"])
    except ParleyError as error:
        _fail(error)
    click.echo(f"Changed the password of {account.email}; its open sessions were logged out.")


@user_group.command("list")
@reads
def list_users():
    """Every dashboard account with its roles."""
    rows = memberships.accounts_overview()
    if not rows:
        click.echo("No dashboard accounts yet. Create one with: flask --app app user create-admin EMAIL")
        return
    for account, roles in rows:
        login = account.email or "(provider login only)"
        if account.is_admin:
            what = "administrator of every site"
        else:
            what = ", ".join(f"{role} of {site.public_id}" for site, role in roles) or "no role"
        click.echo(f"{login:<40} {account.user.display_name:<24} {what}")


@bp.cli.group("reader")
def reader_group():
    """Readers' data: export everything stored about one reader, or erase or anonymise it."""


def _reader(email, user_id):
    """(email, user) named by the options; one of them at least."""
    if email is None and user_id is None:
        raise click.UsageError("name the reader with --email, --user or both")
    try:
        return email, privacy.find_user(user_id) if user_id is not None else None
    except ParleyError as error:
        _fail(error)


def _described(email, user):
    return " and ".join(filter(None, [email and f"email {email}", user and f"account {user.id}"]))


@reader_group.command("export")
@click.option("--email", help="The address they commented with as a guest, or get notifications at.")
@click.option("--user", "user_id", type=int, help="Their account id (a provider login).")
@click.option("--output", type=click.File("w", encoding="utf-8"), default="-",
              help="Write the JSON to this file (default: standard output).")
@reads
def export_reader(email, user_id, output):
    """Everything stored about one reader, as JSON: account, comments, likes, notifications, bans."""
    email, user = _reader(email, user_id)
    try:
        data = privacy.reader_data(email, user, secret_key=current_app.secret_key)
    except ParleyError as error:
        _fail(error)
    json.dump(data, output, ensure_ascii=False, indent=2)
    output.write("\n")
    if privacy.is_empty(data):
        click.echo(f"Nothing is stored about {_described(data['reader']['email'], user)}.", err=True)


@reader_group.command("erase")
@click.option("--email", help="The address they commented with as a guest, or get notifications at.")
@click.option("--user", "user_id", type=int, help="Their account id (a provider login).")
@click.option("--anonymise", is_flag=True,
              help="Keep the text of their comments, shown as by \"Anonymous\", instead of deleting them.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@writes
def erase_reader(email, user_id, anonymise, yes):
    """Delete everything stored about one reader (comments others replied to stay as "deleted" placeholders)."""
    email, user = _reader(email, user_id)
    try:
        data = privacy.reader_data(email, user)
    except ParleyError as error:
        _fail(error)
    who = _described(data["reader"]["email"], user)
    if privacy.is_empty(data):
        click.echo(f"Nothing is stored about {who}: nothing to erase.")
        return
    sites_touched = privacy.per_site(data)
    click.echo(f"Stored about {who}: {len(data['comments'])} comments, {len(data['likes_given'])} likes, "
               f"{len(data['subscriptions'])} subscriptions on {len(sites_touched)} sites"
               f"{', and their account' if user else ''}.")
    what = "anonymise their comments and delete the rest" if anonymise else "delete it all"
    if not yes and not click.confirm(f"{what[:1].upper()}{what[1:]}? This cannot be undone"):
        raise click.Abort()
    try:
        result = privacy.erase_reader(email, user, "anonymise" if anonymise else "erase")
    except ParleyError as error:
        _fail(error)
    done = (f"{result['anonymised']} comments anonymised" if anonymise else
            f"{result['removed']} comments deleted, {result['placeholders']} left as placeholders")
    click.echo(f"Done: {done}; {result['likes']} likes, {result['subscriptions']} subscriptions, "
               f"{result['emails']} emails and {result['account']} account removed. The audit log has the counts.")


@bp.cli.command("worker")
@click.option("--once", is_flag=True, help="Do what is due now, then stop.")
@writes
def run_worker(once):
    """Send the outbox: emails, webhook deliveries, Webmention and origin checks, imports, each kind in its lane.

    For servers run with PARLEY_BACKGROUND_SENDER=false; any number of workers may run at once.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if once:
        click.echo(f"Did {worker.run_due(app)} jobs.")
        return
    stop = threading.Event()

    def finish(_signum, _frame):
        stop.set()
        worker.wake()

    signal.signal(signal.SIGTERM, finish)
    signal.signal(signal.SIGINT, finish)
    click.echo("Sending the outbox; stop with Ctrl-C (the job under way is finished first).")
    worker.run_forever(app, stop)


@bp.cli.group("import")
def import_group():
    """Bring a site's comments from WordPress, Disqus, Isso, Remark42 or another Parley server.

    Every import can be run again: comments already imported are skipped. By default it is one
    transaction, so a malformed file changes nothing; see --batch-size.
    """


def _import_options(command):
    options = [
        click.option("--site", "site_id", required=True, help="The Parley site to import into."),
        click.option("--map-url", "map_urls", multiple=True, metavar="'OLD→NEW'",
                     help="Move pages whose address starts with OLD to NEW, e.g. "
                          "'http://old.example/→https://blog.example.com/' (\"->\" works too; repeatable)."),
        click.option("--dry-run", is_flag=True, help="Read and check everything, write nothing, and say what "
                                                     "would have been imported."),
        click.option("--batch-size", type=click.IntRange(min=1), metavar="N",
                     help="Commit every N comments read (imported or skipped) instead of once at the end "
                          "(resumable: a rerun skips what was committed). On SQLite this lets new comments in "
                          "during a long import."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _run_import(kind, source, site_id, map_urls, dry_run, batch_size, **extra):
    try:
        site = sites.get_site(site_id)
        rules = tuple(imports.parse_url_rule(rule) for rule in map_urls)
        options = imports.ImportOptions(secret_key=current_app.config["SECRET_KEY"], map_urls=rules, dry_run=dry_run,
                                        batch_size=batch_size, **extra)
    except ParleyError as error:
        _fail(error)
    label = f"Reading the {imports.LABELS[kind]}"
    with click.progressbar(length=1, label=label, file=sys.stderr, show_pos=False) as bar:
        def progress(done, total):
            bar.length = total or max(done, 1)
            bar.update(done - bar.pos)

        try:
            summary = imports.run_import(kind, source, site, options, progress=progress)
        except ParleyError as error:
            bar.render_finish()
            _fail(error)
    for line in summary.lines():
        click.echo(line)


_FILE = click.Path(exists=True, dir_okay=False)


@import_group.command("wordpress")
@click.argument("file", type=_FILE)
@_import_options
@click.option("--pingbacks", type=click.Choice(imports.PINGBACK_CHOICES), default="keep", show_default=True,
              help="Keep pingbacks and trackbacks as mentions of the page, or leave them out.")
@writes
def import_wordpress(file, pingbacks, **options):
    """A WordPress export (Tools → Export, WXR 1.0 to 1.2): posts and pages with their comments."""
    _run_import("wordpress", file, pingbacks=pingbacks, **options)


@import_group.command("disqus")
@click.argument("file", type=_FILE)
@_import_options
@writes
def import_disqus(file, **options):
    """A Disqus export (XML): threads with their posts, deleted and spam ones included."""
    _run_import("disqus", file, **options)


@import_group.command("isso")
@click.argument("database", type=_FILE)
@_import_options
@click.option("--base-url", metavar="URL", help="Where Isso's page paths live, e.g. https://blog.example.com "
                                                "(default: the site's first origin).")
@writes
def import_isso(database, base_url, **options):
    """An Isso database (its SQLite file, opened read-only)."""
    _run_import("isso", database, base_url=base_url, **options)


@import_group.command("remark42")
@click.argument("file", type=_FILE)
@_import_options
@writes
def import_remark42(file, **options):
    """A Remark42 backup or export (JSON lines, gzip-compressed or not)."""
    _run_import("remark42", file, **options)


@import_group.command("json")
@click.argument("file", type=_FILE)
@_import_options
@writes
def import_json(file, **options):
    """Parley's own export (flask --app app export), from this server or another."""
    _run_import("json", file, **options)


@import_group.command("list")
@click.option("--site", "site_id", required=True, help="The site whose imports to list.")
@reads
def import_list(site_id):
    """Every import run into a site, newest first: its number (for undo), when, what, and what is left of it."""
    try:
        site = sites.get_site(site_id)
    except ParleyError as error:
        _fail(error)
    found = imports.batches_of(site)
    if not found:
        click.echo(f"No imports into {site.public_id} yet.")
    for batch, remaining in found:
        state = f"undone {batch.undone_at:%Y-%m-%d %H:%M}" if batch.undone_at else f"{remaining} comments"
        label = imports.LABELS.get(batch.kind, "before batches were kept")
        click.echo(f"{batch.id:>6}  {batch.created_at:%Y-%m-%d %H:%M}  {label}: {batch.source} "
                   f"(by {batch.run_by})  {state}")


@import_group.command("undo")
@click.argument("batch", type=click.IntRange(min=1))
@click.option("--site", "site_id", required=True, help="The site the import was run into.")
@click.option("--dry-run", is_flag=True, help="Say what would be removed, and remove nothing.")
@writes
def import_undo(batch, site_id, dry_run):
    """Take back one import (its number is in `import list`): the comments it added, and the pages it made.

    Replies that readers posted since to imported comments stay, under the imported comment made an empty
    "deleted" placeholder. The audit log records the undo as the command line's.
    """
    try:
        done = imports.undo(sites.get_site(site_id), batch, dry_run=dry_run, actor=None)
    except ParleyError as error:
        _fail(error)
    for line in done.lines():
        click.echo(line)


@bp.cli.command("export")
@click.option("--site", "site_id", required=True, help="The site to export.")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), metavar="FILE",
              help="Write to FILE instead of standard output.")
@reads
def export_site(site_id, output):
    """Everything a site has, as JSON Lines (the format is docs/export.schema.json)."""
    try:
        site = sites.get_site(site_id)
    except ParleyError as error:
        _fail(error)
    total = exports.count_comments(site)
    stderr = sys.stderr
    out = open(output, "w", encoding="utf-8") if output else sys.stdout  # noqa: SIM115
    try:
        with click.progressbar(length=max(total, 1), label="Exporting comments", file=stderr) as bar:
            for line in exports.export_lines(site, progress=lambda done: bar.update(done - bar.pos)):
                out.write(line)
    finally:
        if output:
            out.close()
    click.echo(f"Exported {total} comments of {site.public_id}" + (f" to {output}." if output else "."), err=True)


@bp.cli.command("check")
def check_setup():
    """Say what is wrong with this server's setup: database, administrator, sites, SMTP, Redis, public URL."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    environment = startup.deployed_environment(app.config, app.extensions["parley.env_given"])
    findings = doctor.check_all(app.config, environment, database.secret_key_given(app))
    for finding in findings:
        click.echo(f"{'ok' if finding.ok else 'PROBLEM':<8} {finding.topic:<14} {finding.message}")
    problems = sum(not finding.ok for finding in findings)
    if problems:
        click.echo(f"{problems} problem{'s' if problems != 1 else ''} found.", err=True)
        raise SystemExit(1)
    click.echo("Nothing wrong found.")


@bp.cli.command("backup")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), metavar="FOLDER",
              help="Where to write it (default: PARLEY_BACKUP_FOLDER, or backups/ in the instance folder).")
@click.option("--keep", type=click.IntRange(min=0), metavar="N",
              help="Keep the N newest backups in the folder and delete older ones; 0 keeps all "
                   "(default: PARLEY_BACKUP_KEEP, 14). Only files named like Parley's backups are deleted.")
@reads
def backup_database(directory, keep):
    """Write a consistent copy of the database while the server runs.

    SQLite is copied with SQLite's online backup; PostgreSQL is dumped with pg_dump (custom format).
    The file is named parley-<UTC time>.sqlite3 or .dump.
    """
    config = current_app.config
    directory = directory or Path(config["BACKUP_FOLDER"] or Path(current_app.instance_path) / "backups")
    keep = config["BACKUP_KEEP"] if keep is None else keep
    try:
        result = backups.backup(db.engine.url, directory, int(keep))
    except ParleyError as error:
        _fail(error)
    click.echo(f"Backed up to {result.path} ({result.path.stat().st_size:,} bytes).")
    for old in result.deleted:
        click.echo(f"Deleted the older backup {old.name}.")


@bp.cli.command("restore")
@click.argument("backup_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Replace the database without asking.")
def restore_database(backup_file, yes):
    """Replace the whole database by a backup that `flask backup` wrote.

    Stop the server and any workers first: the restore refuses while anything else has the database
    open. It is all or nothing. A backup of an older schema is upgraded when the server starts.
    """
    url = db.engine.url
    if not yes:
        click.confirm(f"Replace everything in {url.render_as_string(hide_password=True)} by {backup_file}?",
                      abort=True)
    db.session.remove()
    db.engine.dispose()  # this process's own connections must not count as "in use"
    try:
        revision = backups.restore(url, backup_file, database.known_revisions(current_app))
    except ParleyError as error:
        _fail(error)
    click.echo(f"Restored {backup_file} (schema revision {revision}). Start the server again.")
