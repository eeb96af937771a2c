"""Import & export in the dashboard: an owner uploads an export, a sender imports it in the background, the
page follows its progress, and the site's own export downloads; and who may do none of it."""
import io
import json
import re
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import ORIGIN
from dashboard_helpers import OTHER_ORIGIN, accept_invitation, audit_rows, invitation_link, logged_in, submit
from helpers import row_counts, write_wxr
from test_import import MOVE, SOURDOUGH, WXR, imported, isso_db, table_sizes  # noqa: F401  (isso_db: a fixture)

from widget import worker

IMPORT = "/dashboard/sites/blog/import"
OLD, NEW = MOVE.split("→")


@pytest.fixture
def app(make_app, tmp_path):
    """The suite's app, keeping uploads in a folder of this test's own."""
    return make_app(IMPORT_FOLDER=str(tmp_path / "uploads"))


@pytest.fixture
def uploads(tmp_path):
    folder = tmp_path / "uploads"
    return lambda: sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture
def owner(app, admin):
    """The owner of site blog (not an administrator), logged in."""
    return accept_invitation(app, invitation_link(admin, "blog", role="owner"), "owner@example.com", name="Olive")


def upload(client, kind="wordpress", source=WXR, name=None, site="blog", headers=None, **fields):
    """Send the import form as a browser does, with the file `source` (a path, or bytes)."""
    data = {"kind": kind, **fields}
    if source is not None:
        content = source.read_bytes() if isinstance(source, Path) else source
        data["file"] = (io.BytesIO(content), name or (source.name if isinstance(source, Path) else "upload.xml"))
    return submit(client, f"/dashboard/sites/{site}/import", data, content_type="multipart/form-data",
                  headers=headers or {})


def queued(response):
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    match = re.search(r"/dashboard/sites/blog/import#import-(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def status(client, job_id, site="blog"):
    response = client.get(f"/dashboard/sites/{site}/import/{job_id}.json", headers={"Accept": "application/json"})
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return response.get_json()


def jobs(app):
    from widget.extensions import db
    from widget.models import Job

    with app.app_context():
        return [(job.kind, job.status, job.result) for job in db.session.scalars(db.select(Job).order_by(Job.id))]


# Importing ------------------------------------------------------------------------------------------

def test_an_owner_uploads_a_wordpress_export_and_the_sender_imports_it(app, owner, uploads, read):
    page = owner.get(IMPORT)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Import &amp; export" in html and 'enctype="multipart/form-data"' in html and "None yet." in html

    job_id = queued(upload(owner, map_from=OLD, map_to=NEW))
    stored = uploads()
    assert len(stored) == 1 and re.fullmatch(r"[0-9a-f]{32}\.xml", stored[0])  # a name of its own, not the owner's
    waiting = status(owner, job_id)
    assert waiting["state"] == "waiting" and waiting["active"] and waiting["file_name"] == "wordpress.xml"
    assert waiting["label"] == "WordPress export" and waiting["text"] == "Waiting to start."
    html = owner.get(IMPORT).get_data(as_text=True)
    assert "wordpress.xml" in html and "Waiting to start." in html and "data-status-url" in html
    assert "Uploaded wordpress.xml" in html  # the flash message

    assert worker.run_pending(app) == 1
    done = status(owner, job_id)
    assert done["state"] == "done" and not done["active"] and done["text"] == "Done."
    assert done["lines"][:2] == ["Imported 10 comments (7 approved, 1 deleted, 1 pending, 1 spam), 1 of them mentions.",
                                 "Threads: 2 created, 0 found."]
    assert "  empty body: 1" in done["lines"]
    assert uploads() == []  # deleted once the import ended
    # The comments are there for readers, as a command-line import leaves them.
    thread = read(url=SOURDOUGH).get_json()
    assert thread["thread"]["title"] == "Sourdough & patience: don’t rush it" and len(thread["comments"]) >= 2
    # A reload shows the same: it lives in the database, not in the page.
    html = owner.get(IMPORT).get_data(as_text=True)
    assert "Imported 10 comments" in html and "data-status-url" not in html
    (kind, state, result), = jobs(app)
    assert (kind, state) == ("import", "done") and result.startswith("Imported 10 comments")
    action, actor, *_rest, after = audit_rows(app)[-1]
    assert (action, actor) == ("site.import", "Olive")
    assert after["file"] == "wordpress.xml" and after["map_url"] == MOVE and after["dry_run"] is False


def test_the_summary_is_kept_whole_on_the_job(app, owner):
    from widget.extensions import db
    from widget.models import Job

    job_id = queued(upload(owner, map_from=OLD, map_to=NEW))
    worker.run_pending(app)
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert len(job.result) <= 500
        assert job.payload["summary"]["comments"] == 10 and job.payload["summary"]["statuses"]["spam"] == 1
        assert job.payload["progress"]["done"] == job.payload["progress"]["total"] == WXR.stat().st_size


def test_a_dry_run_says_what_it_would_do_and_writes_nothing(app, owner, uploads):
    job_id = queued(upload(owner, map_from=OLD, map_to=NEW, dry_run="yes"))
    worker.run_pending(app)
    done = status(owner, job_id)
    assert done["state"] == "done" and done["state_label"] == "Checked" and done["dry_run"]
    assert done["text"] == "Checked: nothing was written."
    assert done["lines"][0].startswith("Dry run, nothing was written: would import 10 comments")
    assert table_sizes(app)[:2] == (0, 0)
    assert uploads() == []


def test_a_malformed_file_fails_with_the_importers_reason_and_imports_nothing(app, owner, uploads):
    text = WXR.read_text(encoding="utf-8")
    job_id = queued(upload(owner, source=text[:text.index("<wp:comment_id>104")].encode(), name="cut.xml"))
    worker.run_pending(app)
    failed = status(owner, job_id)
    assert failed["state"] == "failed" and not failed["active"] and failed["lines"] == []
    assert failed["text"].startswith("Failed: WordPress export: ") and "Nothing was imported." in failed["text"]
    assert table_sizes(app)[:2] == (0, 0)
    assert uploads() == []
    assert "Failed: WordPress export" in owner.get(IMPORT).get_data(as_text=True)


def test_hostile_html_in_an_upload_is_cleaned_like_a_new_comment(app, owner, read):
    queued(upload(owner, map_from=OLD, map_to=NEW))
    worker.run_pending(app)
    everything = json.dumps(read(url=SOURDOUGH).get_json())
    assert "<script" not in everything and "onerror" not in everything and "javascript:" not in everything


def test_an_isso_database_is_uploaded_with_the_address_of_its_pages(app, owner, isso_db):  # noqa: F811
    job_id = queued(upload(owner, kind="isso", source=isso_db, base_url="https://blog.example.com"))
    worker.run_pending(app)
    assert status(owner, job_id)["lines"][0] == "Imported 6 comments (4 approved, 1 deleted, 1 pending)."


def test_the_upload_script_gets_json(app, owner):
    response = upload(owner, headers={"Accept": "application/json"}, map_from=OLD, map_to=NEW)
    assert response.status_code == 201
    body = response.get_json()
    assert body["location"] == f"/dashboard/sites/blog/import#import-{body['job']['id']}"
    assert body["job"]["state"] == "waiting"
    refused = upload(owner, kind="blogger", headers={"Accept": "application/json"})
    assert refused.status_code == 400
    assert refused.get_json()["errors"] == {"kind": "Choose which kind of file this is."}
    assert refused.get_json()["error"]["code"] == "invalid_import"


# Refusals ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("fields", "source", "message"), [
    ({}, None, "Choose the file to import."),
    ({}, b"", "That file is empty."),
    ({"kind": "blogger"}, WXR, "Choose which kind of file this is."),
    ({"kind": ""}, WXR, "Choose which kind of file this is."),
    ({"map_from": "ftp://old.example.com/", "map_to": "https://blog.example.com/"}, WXR,
     "Both addresses must be http or https addresses"),
    ({"map_from": "http://old.example.com/"}, WXR, "Give both the old address and the new one, or neither."),
    ({"map_from": "x" * 3000, "map_to": "https://blog.example.com/"}, WXR, "too long"),
    ({"pingbacks": "maybe"}, WXR, "Keep pingbacks or leave them out."),
    ({"kind": "isso", "base_url": "javascript:alert(1)"}, WXR, "must be an http or https address"),
], ids=["no-file", "empty-file", "unknown-kind", "no-kind", "bad-rule", "half-a-rule", "long-rule", "pingbacks",
        "isso-base-url"])
def test_a_form_that_cannot_be_imported_is_refused_with_a_reason(app, owner, uploads, fields, source, message):
    before = row_counts(app)
    response = upload(owner, source=source, **({"kind": "wordpress"} | fields))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and "Nothing was imported" in html and 'aria-invalid="true"' in html
    assert row_counts(app) == before and uploads() == []


def test_a_file_over_the_limit_is_refused_on_the_page_not_with_a_bare_413(make_app, tmp_path):
    from dashboard_helpers import create_admin

    app = make_app(IMPORT_FOLDER=str(tmp_path / "uploads"), IMPORT_MAX_BYTES=1000)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["site", "add", "blog", "--name", "Blog", "--origin", ORIGIN]).exit_code == 0
    create_admin(runner)
    admin = logged_in(app)
    before = row_counts(app)
    response = upload(admin)  # the sample is some 9 KB
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert "The file is larger than 1000 bytes, the most this server takes." in html
    assert "the most this server takes" in html and "Nothing was imported" in html and "<form" in html
    assert row_counts(app) == before and not (tmp_path / "uploads").exists()


def test_an_upload_may_be_larger_than_any_other_form(app, owner, tmp_path):
    big = write_wxr(tmp_path / "big.xml", posts=2, per_post=300)
    assert big.stat().st_size > app.config["MAX_CONTENT_LENGTH"]
    job_id = queued(upload(owner, source=big))
    worker.run_pending(app)
    assert status(owner, job_id)["lines"][0] == "Imported 600 comments (600 approved)."
    # Other forms keep the small limit.
    response = submit(owner, "/dashboard/sites/blog/settings", {"name": "x" * (100 * 1024)})
    assert response.status_code == 413


def test_the_name_of_the_uploaded_file_is_never_a_path_and_is_shown_escaped(app, owner, uploads, tmp_path):
    job_id = queued(upload(owner, name='../../<img src=x onerror=alert(1)>.xml', map_from=OLD, map_to=NEW))
    assert len(uploads()) == 1 and not list(tmp_path.glob("*.xml"))
    assert status(owner, job_id)["file_name"] == "<img src=x onerror=alert(1)>.xml"
    html = owner.get(IMPORT).get_data(as_text=True)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;.xml" in html


# Who may -----------------------------------------------------------------------------------------

def test_the_import_needs_a_csrf_token(app, owner, uploads):
    before = row_counts(app)
    response = owner.post(IMPORT, data={"kind": "wordpress", "file": (io.BytesIO(WXR.read_bytes()), "w.xml")},
                          content_type="multipart/form-data")
    assert response.status_code == 400 and "Form expired" in response.get_data(as_text=True)
    assert row_counts(app) == before and uploads() == []


def test_a_moderator_may_not_import_poll_or_export(app, admin, owner, uploads):
    job_id = queued(upload(owner, map_from=OLD, map_to=NEW))
    moderator = accept_invitation(app, invitation_link(admin, "blog"), "mod@example.com")
    before = row_counts(app)
    assert moderator.get(IMPORT).status_code == 403
    assert upload(moderator, map_from=OLD, map_to=NEW).status_code == 403
    assert upload(moderator, source=b"x" * (200 * 1024)).status_code == 403  # refused before it is read
    assert moderator.get(f"{IMPORT}/{job_id}.json", headers={"Accept": "application/json"}).status_code == 403
    assert moderator.get("/dashboard/sites/blog/export").status_code == 403
    assert row_counts(app) == before and len(uploads()) == 1
    # Nor does the tab show to them.
    assert "Import &amp; export" not in moderator.get("/dashboard/sites/blog/queue").get_data(as_text=True)


def test_the_owner_of_another_site_cannot_see_or_poll_this_sites_imports(app, admin, owner, runner):
    assert runner.invoke(args=["site", "add", "other", "--name", "Other", "--origin", OTHER_ORIGIN]).exit_code == 0
    job_id = queued(upload(owner, map_from=OLD, map_to=NEW))
    stranger = accept_invitation(app, invitation_link(admin, "other", role="owner"), "other@example.com")
    json_headers = {"Accept": "application/json"}
    assert stranger.get(IMPORT).status_code == 404
    assert stranger.get(f"{IMPORT}/{job_id}.json", headers=json_headers).status_code == 404
    # Through their own site, the job of another is no import of theirs.
    answer = stranger.get(f"/dashboard/sites/other/import/{job_id}.json", headers=json_headers)
    assert answer.status_code == 404 and answer.get_json()["error"]["code"] == "not_found"
    assert stranger.get("/dashboard/sites/blog/export").status_code == 404
    assert upload(stranger, map_from=OLD, map_to=NEW).status_code == 404
    assert len(jobs(app)) == 1
    # Nor is another kind of job of their own site readable as an import.
    from widget import outbox, sites
    from widget.extensions import db

    with app.app_context():
        webhook_job = outbox.enqueue("webhook", {"url": "https://x.example"}, site_id=sites.get_site("other").id)
        db.session.commit()
        webhook_job_id = webhook_job.id
    assert stranger.get(f"/dashboard/sites/other/import/{webhook_job_id}.json", headers=json_headers).status_code == 404
    assert stranger.get("/dashboard/sites/other/import/99999999999.json", headers=json_headers).status_code == 404


# Running in the background ----------------------------------------------------------------------------

def test_a_long_import_shows_its_progress_and_renews_its_lease_as_it_commits(app, owner, tmp_path, monkeypatch):
    """While the sender imports, other requests see the progress and a lease that moves on with each batch."""
    from widget import imports
    from widget.extensions import db
    from widget.models import Job

    source = write_wxr(tmp_path / "long.xml", posts=30, per_post=100)
    job_id = queued(upload(owner, source=source))
    real = imports.run_import
    pause, go = threading.Event(), threading.Event()
    calls = []

    def gated(kind, path, site, options, progress=None):
        def report(done, total):
            progress(done, total)
            calls.append(done)
            if len(calls) in (3, 5):  # each after a batch was committed, with the progress before it
                pause.set()
                assert go.wait(10)
                go.clear()
        return real(kind, path, site, options, progress=report)

    monkeypatch.setattr(imports, "run_import", gated)
    sender = threading.Thread(target=worker.run_pending, args=(app,))
    sender.start()
    seen = []
    try:
        for _ in range(2):
            assert pause.wait(10)
            pause.clear()
            # A read, as a page request is: SQLite lets it beside the import's open transaction.
            with app.test_request_context(method="GET"):
                job = db.session.get(Job, job_id)
                seen.append((job.locked_until, job.payload["progress"]["done"]))
                db.session.remove()
            seen_status = status(owner, job_id)
            assert seen_status["state"] == "running" and " of " in seen_status["text"]
            assert 0 < seen_status["percent"] < 100
            go.set()
    finally:
        go.set()
        sender.join(30)
    (first_lease, first_done), (second_lease, second_done) = seen
    assert second_lease > first_lease and second_done > first_done
    assert status(owner, job_id)["lines"][0] == "Imported 3000 comments (3000 approved)."


def test_a_renewed_lease_keeps_another_sender_from_claiming_the_import(app, owner):
    """Claimed with a lease of a minute, then renewed by the import's progress: a second sender that comes
    once that minute is over finds nothing to take."""
    from widget import import_jobs, outbox
    from widget.extensions import db
    from widget.models import utcnow

    job_id = queued(upload(owner, map_from=OLD, map_to=NEW))
    lease = 300
    claimed_at = utcnow()
    with app.app_context():
        job = outbox.claim("first", claimed_at, 60)
        assert job.id == job_id
        folder = import_jobs.upload_folder(app.config["IMPORT_FOLDER"], app.instance_path)
        result = import_jobs.run_job(job, secret_key=app.secret_key, folder=folder, lease_seconds=lease)
        db.session.commit()
        assert result.startswith("Imported 10 comments")
        assert outbox.claim("second", claimed_at + timedelta(seconds=61), lease) is None
        assert outbox.claim("second", utcnow() + timedelta(seconds=lease + 1), lease).id == job_id


def test_an_import_that_keeps_stopping_is_given_up_and_its_file_deleted(app, owner, uploads, monkeypatch):
    from widget import import_jobs, imports

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    def due_now():
        from widget.extensions import db
        from widget.models import Job, utcnow

        with app.app_context():
            db.session.get(Job, job_id).run_at = utcnow()
            db.session.commit()

    monkeypatch.setattr(imports, "run_import", broken)
    job_id = queued(upload(owner, map_from=OLD, map_to=NEW))
    for attempt in range(1, import_jobs.ATTEMPTS):
        assert worker.run_pending(app) == 1
        answer = status(owner, job_id)
        assert answer["state"] == "retrying", attempt
        assert "it will be tried again" in answer["text"] and len(uploads()) == 1
        due_now()
    assert worker.run_pending(app) == 1
    answer = status(owner, job_id)
    assert answer["state"] == "failed" and "RuntimeError" in answer["text"] and uploads() == []


def test_an_upload_gone_from_the_server_fails_without_naming_where_it_was(app, owner, uploads, tmp_path):
    job_id = queued(upload(owner, map_from=OLD, map_to=NEW))
    (tmp_path / "uploads" / uploads()[0]).unlink()
    worker.run_pending(app)
    answer = status(owner, job_id)
    assert answer["state"] == "failed"
    assert answer["text"] == "Failed: The uploaded file is not on the server any more: upload it again."


# Export -----------------------------------------------------------------------------------------

def test_the_export_downloads_what_flask_export_writes(app, owner, runner):
    imported(runner, "wordpress", WXR, "--map-url", MOVE)
    response = owner.get("/dashboard/sites/blog/export")
    assert response.status_code == 200
    assert response.mimetype == "application/x-ndjson"
    assert response.headers["Content-Disposition"] == 'attachment; filename="blog-comments.jsonl"'
    assert response.headers["Cache-Control"] == "no-store"
    downloaded = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    result = runner.invoke(args=["export", "--site", "blog"])
    assert result.exit_code == 0
    written = [json.loads(line) for line in result.stdout.splitlines()]
    for first_lines in (downloaded[0], written[0]):
        first_lines.pop("exported_at")  # the one field that differs: when
    assert downloaded == written
    assert sum(line.get("type") == "comment" for line in downloaded) == 10


@pytest.mark.parametrize("site_id", ["%00", "blog%00", "x" * 41, "%C0%80"])
def test_an_upload_to_a_malformed_site_id_is_refused_not_a_500(owner, site_id):
    # The upload limit is decided before the NUL guard runs: the site id must be checked before any query
    # (PostgreSQL refuses a NUL in text with an error).
    response = submit(owner, f"/dashboard/sites/{site_id}/import", {"kind": "wordpress"})
    assert 400 <= response.status_code < 500, response.status_code
