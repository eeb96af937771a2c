"""The site and thread commands, and how `parley` itself starts."""
import os
import subprocess
import sys
from pathlib import Path

import pytest


def test_add_and_list_sites(runner):
    result = runner.invoke(args=["site", "add", "myblog", "--name", "My Blog",
                                 "--origin", "https://Blog.Example.com:443", "--origin", "http://localhost:8000"])
    assert result.exit_code == 0, result.output
    assert "https://blog.example.com" in result.output
    listing = runner.invoke(args=["site", "list"]).output
    assert "myblog" in listing
    assert "https://blog.example.com, http://localhost:8000" in listing
    assert "moderation        none" in listing


def test_list_without_sites_says_how_to_add_one(runner):
    assert "site add" in runner.invoke(args=["site", "list"]).output


@pytest.mark.parametrize("args,message", [
    (["site", "add", "Bad Id", "--name", "x", "--origin", "https://a.example"], "site id"),
    (["site", "add", "ok", "--name", "x", "--origin", "a.example"], "not an origin"),
    (["site", "add", "ok", "--name", "x", "--origin", "https://a.example/path"], "not an origin"),
    (["site", "add", "ok", "--name", "", "--origin", "https://a.example"], "name"),
])
def test_add_refuses_bad_input(runner, args, message):
    result = runner.invoke(args=args)
    assert result.exit_code != 0
    assert message in result.output


def test_add_refuses_a_duplicate(runner, site):
    result = runner.invoke(args=["site", "add", site, "--name", "again", "--origin", "https://a.example"])
    assert result.exit_code != 0 and "already exists" in result.output


@pytest.mark.parametrize("key,value,shown", [
    ("guests_allowed", "no", "no"),
    ("providers", "github, google", "github, google"),
    ("moderation", "first-time", "first-time"),
    ("edit_window", "30", "30"),
    ("max_depth", "3", "3"),
    ("close_after_days", "90", "90"),
    ("close_after_days", "off", "off"),
    ("max_body_length", "5000", "5000"),
    ("max_links", "2", "2"),
    ("notify_email", "owner@example.org", "owner@example.org"),
    ("privacy_url", "https://blog.example.com/privacy", "https://blog.example.com/privacy"),
    ("origins", "https://a.example, https://b.example", "https://a.example, https://b.example"),
    ("name", "Renamed", "Renamed"),
])
def test_set_each_setting(runner, site, key, value, shown):
    result = runner.invoke(args=["site", "set", site, key, value])
    assert result.exit_code == 0, result.output
    assert f"{key} = {shown}" in result.output
    assert shown in runner.invoke(args=["site", "list"]).output


@pytest.mark.parametrize("key,value,message", [
    ("moderation", "sometimes", "expected one of"),
    ("edit_window", "1.5", "whole number"),
    ("max_depth", "1", "from 2 to 20"),
    ("guests_allowed", "maybe", "yes or no"),
    ("notify_email", "nobody", "not an email"),
    ("privacy_url", "javascript:alert(1)", "not an http"),
    ("colour", "red", "unknown setting"),
])
def test_set_refuses_bad_values(runner, site, key, value, message):
    result = runner.invoke(args=["site", "set", site, key, value])
    assert result.exit_code != 0
    assert message in result.output


def test_set_on_unknown_site(runner):
    result = runner.invoke(args=["site", "set", "ghost", "max_depth", "3"])
    assert result.exit_code != 0 and "no site" in result.output


def test_setting_change_is_seen_by_the_api(runner, site, post, read):
    runner.invoke(args=["site", "set", site, "max_body_length", "10"])
    assert post(body="x" * 11).status_code == 400


def test_help_lists_every_setting(runner):
    from widget.sites import SETTINGS

    output = runner.invoke(args=["site", "set", "--help"]).output
    for key in SETTINGS:
        assert key in output


def test_command_line_changes_are_in_the_audit_log_as_the_command_line(app, runner):
    from widget.extensions import db
    from widget.models import AuditEntry

    added = runner.invoke(args=["site", "add", "cli", "--name", "By hand", "--origin", "https://cli.example"])
    assert added.exit_code == 0
    assert runner.invoke(args=["site", "set", "cli", "moderation", "all"]).exit_code == 0
    assert runner.invoke(args=["thread", "lock", "cli", "https://cli.example/post"]).exit_code == 0
    assert runner.invoke(args=["thread", "unlock", "cli", "https://cli.example/post"]).exit_code == 0
    refused = runner.invoke(args=["site", "set", "cli", "max_depth", "99"])
    assert refused.exit_code != 0 and "max_depth" in refused.output
    with app.app_context():
        entries = [(e.action, e.actor_name, e.before, e.after)
                   for e in db.session.scalars(db.select(AuditEntry).order_by(AuditEntry.id))]
    assert [(action, actor) for action, actor, _, _ in entries] == [
        ("site.create", "command line"), ("site.settings", "command line"),
        ("thread.lock", "command line"), ("thread.unlock", "command line")]
    assert entries[1][2:] == ({"moderation": "none"}, {"moderation": "all"})


ROOT = Path(__file__).resolve().parent.parent


def _parley(instance, *args):
    """The `parley` command in its own process, as an owner runs it, with its data in `instance`."""
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "PARLEY_ENV")}
    return subprocess.run([sys.executable, "-c", "from widget.command import main; main()", *args], cwd=ROOT,
                          env=env | {"PARLEY_INSTANCE_PATH": str(instance)}, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.database_independent
def test_help_and_commands_that_only_read_leave_a_fresh_instance_folder_as_it_was(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    shown = _parley(instance, "--help")
    assert shown.returncode == 0 and "\n  site " in shown.stdout, shown.stderr[-2000:]
    assert "Running upgrade" not in shown.stdout + shown.stderr and "migration" not in shown.stderr
    assert list(instance.iterdir()) == []
    for args in (["site", "list"], ["user", "list"], ["export", "--site", "blog"], ["backup"], ["check"]):
        result = _parley(instance, *args)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert "Running upgrade" not in result.stderr
        assert f"{instance / 'parley.sqlite3'}" in result.stdout + result.stderr  # it says which database is missing
    assert list(instance.iterdir()) == []
    # The first command that writes makes the database (and the development secret key), as a server would.
    added = _parley(instance, "site", "add", "blog", "--name", "Blog", "--origin", "https://blog.example.com")
    assert added.returncode == 0, added.stderr[-2000:]
    assert {path.name for path in instance.iterdir()} >= {"parley.sqlite3", "secret_key"}
    listed = _parley(instance, "site", "list")
    assert listed.returncode == 0 and listed.stdout.startswith("blog\n")
    assert "Running upgrade" not in listed.stderr
