"""Command line: `flask --app app site ...`, `thread ...` and `user ...`."""
import signal
import sys
import threading

import click
from flask import Blueprint, current_app

from . import memberships, moderation, sites, staff, worker
from .errors import ParleyError
from .extensions import db
from .models import Site

bp = Blueprint("cli", __name__, cli_group=None)

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
def add_site(public_id, name, origins):
    """Register a site: its short public id, name and allowed origins."""
    try:
        site = memberships.add_site(None, public_id, name, list(origins))
    except ParleyError as error:
        _fail(error)
    click.echo(f"Added site {site.public_id} ({site.name}) for {', '.join(site.origins)}.")


@site_group.command("list")
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


@site_group.command("set", epilog="Settings:\n\n\b\n" + SETTING_HELP)
@click.argument("public_id")
@click.argument("key", metavar="KEY")
@click.argument("value")
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
def lock_thread(public_id, page):
    """Stop new comments on a page (existing ones stay visible)."""
    _set_locked(public_id, page, True)


@thread_group.command("unlock")
@click.argument("public_id")
@click.argument("page", metavar="URL_OR_THREAD_ID")
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
def set_password(email, password_stdin):
    """Set a new password for a dashboard account; its open sessions end."""
    try:
        account = staff.get_account(email)
        staff.set_password(account, _read_password(password_stdin), current_app.config["PASSWORD_HASH_METHOD"])
    except ParleyError as error:
        _fail(error)
    click.echo(f"Changed the password of {account.email}; its open sessions were logged out.")


@user_group.command("list")
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


@bp.cli.command("worker")
@click.option("--once", is_flag=True, help="Do what is due now, then stop.")
def run_worker(once):
    """Send the outbox: emails, webhook deliveries and Webmention checks.

    For servers run with PARLEY_BACKGROUND_SENDER=false; any number of workers may run at once.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if once:
        click.echo(f"Did {worker.run_pending(app)} jobs.")
        return
    stop = threading.Event()

    def finish(_signum, _frame):
        stop.set()
        worker.wake()

    signal.signal(signal.SIGTERM, finish)
    signal.signal(signal.SIGINT, finish)
    click.echo("Sending the outbox; stop with Ctrl-C (the job under way is finished first).")
    worker.run_forever(app, stop)
