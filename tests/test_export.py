"""The export: everything a site has, in a documented format an owner can take to another server and back."""
import json
from pathlib import Path

import jsonschema
import pytest
from conftest import GUEST
from test_import import DISQUS, MOVE, WXR, imported, stored

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "docs" / "export.schema.json").read_text())
PAGE = "https://blog.example.com/posts/hello"
AKISMET_KEY = "abcdef123456"
WEBHOOK_SECRET = "whsec_c2VjcmV0LXRoYXQtbXVzdC1uZXZlci1sZWF2ZQ=="


@pytest.fixture
def busy_site(app, runner, site, post, client):
    """The site `blog` with what years of use leave: imported history, replies, edits, likes, pins, locks,
    a thread named by an explicit id, an empty locked thread, subscriptions and secrets."""
    from widget import moderation, sites
    from widget.extensions import db
    from widget.models import Comment

    imported(runner, "wordpress", WXR, "--map-url", MOVE)
    imported(runner, "disqus", DISQUS, "--map-url", MOVE)
    first = post(body="Hello **world**, see https://example.org", notify="all").get_json()
    reply = post(body="A reply", parent_id=first["comment"]["id"], notify="replies",
                 author={"name": "Ben", "email": "ben@example.org"}).get_json()
    edited = client.patch(f"/api/v1/comments/{reply['comment']['id']}", json={"body": "A reply, edited"},
                          headers={"Origin": "https://blog.example.com", "X-Edit-Token": reply["edit_token"]})
    assert edited.status_code == 200, edited.get_json()
    assert client.post(f"/api/v1/comments/{first['comment']['id']}/like",
                       headers={"Origin": "https://blog.example.com"}).status_code == 200
    assert post(url="https://blog.example.com/newsletter/42", thread_id="newsletter-42", title="Issue 42",
                body="On the newsletter").status_code == 201
    assert runner.invoke(args=["thread", "lock", site, "https://blog.example.com/closed/"]).exit_code == 0
    with app.app_context():
        blog = sites.get_site(site)
        moderation.apply(None, blog, db.session.get(Comment, first["comment"]["id"]), "pin")
        blog.akismet_key, blog.webhook_secret = AKISMET_KEY, WEBHOOK_SECRET
        db.session.commit()
    return site


def export(runner, path=None, site="blog"):
    result = runner.invoke(args=["export", "--site", site, *(["--output", str(path)] if path else [])])
    assert result.exit_code == 0, result.output
    text = path.read_text(encoding="utf-8") if path else result.stdout
    return [json.loads(line) for line in text.splitlines()]


def test_an_export_validates_against_its_schema(busy_site, runner, tmp_path):
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    validator = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    lines = export(runner, tmp_path / "blog.jsonl")
    for number, line in enumerate(lines, 1):
        errors = sorted(validator.iter_errors(line), key=str)
        assert not errors, f"line {number}: {errors[0].message}"
    kinds = [line.get("type", "header") for line in lines]
    assert kinds[0] == "header" and {"thread", "comment", "subscription"} <= set(kinds)
    header = lines[0]
    assert (header["format"], header["version"], header["site"]["id"]) == ("parley-export", 1, "blog")


def test_an_export_holds_the_tree_statuses_likes_mentions_and_subscriptions(busy_site, runner, tmp_path):
    lines = export(runner, tmp_path / "blog.jsonl")
    threads = {line["id"]: line for line in lines if line.get("type") == "thread"}
    comments = [line for line in lines if line.get("type") == "comment"]
    assert {line["status"] for line in comments} == {"approved", "pending", "spam", "deleted"}
    assert any(c["kind"] == "mention" and c["source_url"] == "https://bakingweekly.example/five-breads/"
               for c in comments)
    hello = next(c for c in comments if c["body"].startswith("Hello **world**"))
    assert (hello["likes"], hello["pinned"], hello["author_email"]) == (1, True, GUEST["email"])
    reply = next(c for c in comments if c["body"] == "A reply, edited")
    assert reply["parent"] == hello["id"] and reply["edited_at"] is not None
    # Every thread comes before its comments; every parent is in the file.
    seen_threads = set()
    ids = {c["id"] for c in comments}
    for line in lines[1:]:
        if line["type"] == "thread":
            seen_threads.add(line["id"])
        elif line["type"] == "comment":
            assert line["thread"] in seen_threads
            assert line["parent"] is None or line["parent"] in ids
    assert any(t["locked"] and t["url"] == "https://blog.example.com/closed/" for t in threads.values())
    subscriptions = [line for line in lines if line.get("type") == "subscription"]
    assert {(s["email"], s["kind"]) for s in subscriptions} == {
        (GUEST["email"], "replies"), (GUEST["email"], "thread"), ("ben@example.org", "replies")}


def test_an_export_keeps_no_secret(busy_site, runner, tmp_path):
    path = tmp_path / "blog.jsonl"
    export(runner, path)
    dumped = path.read_text(encoding="utf-8")
    for secret in (AKISMET_KEY, WEBHOOK_SECRET, "ip_hash", "reader_key", "token", "akismet", "webhook"):
        assert secret not in dumped
    assert "203.0.113.7" not in dumped  # nor addresses


def test_export_writes_to_standard_output_by_default(busy_site, runner):
    lines = export(runner)
    assert lines[0]["format"] == "parley-export"
    assert sum(line.get("type") == "comment" for line in lines) == 20


def _comparable(lines):
    """The threads and comments of an export, with this server's ids replaced by their order in the file."""
    order = {}
    shown = []
    for line in lines[1:]:
        if line["type"] == "subscription":
            continue
        order[(line["type"], line["id"])] = len(order)
        line = dict(line, id=None)
        if line["type"] == "comment":
            line["thread"] = order[("thread", line["thread"])]
            line["parent"] = None if line["parent"] is None else order[("comment", line["parent"])]
        shown.append(line)
    return shown


def test_an_export_imported_into_an_empty_server_gives_the_same_threads_and_comments(
        busy_site, runner, make_app, fresh_database_url, tmp_path):
    first = export(runner, tmp_path / "first.jsonl")
    second_server = make_app(SQLALCHEMY_DATABASE_URI=fresh_database_url)
    second = second_server.test_cli_runner()
    added = second.invoke(args=["site", "add", "moved", "--name", "Moved", "--origin", "https://blog.example.com"])
    assert added.exit_code == 0, added.output
    output = imported(second, "json", tmp_path / "first.jsonl", "--site", "moved")
    comments = sum(line.get("type") == "comment" for line in first)
    assert f"Imported {comments} comments" in output
    assert "subscriptions (a file cannot vouch for a reader's consent): 3" in output
    again = export(second, tmp_path / "second.jsonl", site="moved")
    assert _comparable(again) == _comparable(first)
    # And once more adds nothing.
    assert f"already imported: {comments}" in imported(second, "json", tmp_path / "first.jsonl", "--site", "moved")


def test_json_import_of_a_bad_line_names_it_and_changes_nothing(busy_site, app, runner, tmp_path):
    path = tmp_path / "blog.jsonl"
    lines = export(runner, path)
    before = stored(app)
    text = [json.dumps(line) for line in lines]
    text[5] = text[5][:-9]
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    result = runner.invoke(args=["import", "json", str(path), "--site", "blog"])
    assert result.exit_code != 0 and "Parley export: line 6: not JSON" in result.output
    assert stored(app) == before


@pytest.mark.parametrize("first_line,message", [
    ('{"format": "disqus"}', 'line 1: not a Parley export'),
    ('{"format": "parley-export", "version": 2}', "Parley export version 2"),
])
def test_json_import_refuses_another_format_or_version(runner, site, tmp_path, first_line, message):
    path = tmp_path / "other.jsonl"
    path.write_text(first_line + "\n")
    result = runner.invoke(args=["import", "json", str(path), "--site", "blog"])
    assert result.exit_code != 0 and message in result.output


def test_json_import_refuses_a_comment_before_its_thread(runner, site, tmp_path):
    path = tmp_path / "out-of-order.jsonl"
    path.write_text('{"format": "parley-export", "version": 1}\n'
                    '{"type": "comment", "id": 1, "thread": 7, "parent": null, "status": "approved", "kind": "comment",'
                    ' "body": "x", "html": "<p>x</p>", "created_at": "2024-01-01T00:00:00Z", "likes": 0,'
                    ' "pinned": false}\n')
    result = runner.invoke(args=["import", "json", str(path), "--site", "blog"])
    assert result.exit_code != 0 and "line 2: comment 1 is on thread 7, which no earlier line describes" in \
        result.output


def test_export_of_an_unknown_site(runner):
    result = runner.invoke(args=["export", "--site", "ghost"])
    assert result.exit_code != 0 and "no site" in result.output
