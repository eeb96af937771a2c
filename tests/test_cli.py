"""The site and thread commands."""
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
