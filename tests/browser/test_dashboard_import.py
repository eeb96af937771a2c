"""The dashboard's import in a real browser: an owner uploads a WordPress export and watches it being imported
by the background sender, the page updating itself until the summary shows; a reload shows the same."""
import re
import threading

import pytest
from playwright.sync_api import expect

from tests.dashboard_helpers import PASSWORD
from tests.helpers import write_wxr

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def test_an_owner_uploads_a_wordpress_export_and_watches_it_import(widget, browser, artifacts, tmp_path, monkeypatch):
    from widget import imports, worker

    widget.app.config["IMPORT_FOLDER"] = str(tmp_path / "uploads")
    widget.site("blog", origins=["https://blog.example.com"])
    result = widget.runner.invoke(args=["user", "create-admin", "owner@example.com", "--name", "Olivia Owner",
                                        "--password-stdin"], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    source = write_wxr(tmp_path / "my-blog.WordPress.2024-02-01.xml", posts=30, per_post=100)
    server = widget.server.url
    context = browser.new_context(locale="en-US", viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(10_000)

    page.goto(f"{server}/dashboard/login")
    page.get_by_label("Email").fill("owner@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{server}/dashboard/sites/blog")
    page.get_by_role("link", name="Import & export").click()
    expect(page.get_by_role("heading", name="Import & export")).to_be_visible()
    expect(page.get_by_text("None yet.")).to_be_visible()

    # Only the chosen kind's description and options show.
    page.get_by_label("Comes from").select_option("wordpress")
    expect(page.get_by_text("In WordPress: Tools → Export → All content.")).to_be_visible()
    expect(page.get_by_text("Isso's database: the SQLite file")).to_be_hidden()
    expect(page.get_by_role("group", name="Pingbacks and trackbacks")).to_be_visible()
    expect(page.get_by_label("Where the pages live")).to_be_hidden()
    page.locator("#import-file").set_input_files(str(source))
    page.get_by_role("button", name="Upload and import").click()

    job = page.locator(".import-job").first
    expect(job.get_by_role("heading", name=source.name)).to_be_visible()
    expect(page.get_by_text(f"Uploaded {source.name}")).to_be_visible()
    expect(job.locator("[data-part=text]")).to_have_text("Waiting to start.")
    expect(job.get_by_role("progressbar", name=f"Progress of {source.name}")).to_be_visible()
    assert job.locator("[data-part=text]").get_attribute("aria-live") == "polite"

    # The sender imports it in the background; it waits once, part-way, until the page has shown that.
    real = imports.run_import
    halfway, go = threading.Event(), threading.Event()
    calls = []

    def gated(kind, path, site, options, progress=None):
        def report(done, total):
            progress(done, total)
            calls.append(done)
            if len(calls) == 3:  # after the first batch's commit, which carried the progress before it
                halfway.set()
                go.wait(15)
        return real(kind, path, site, options, progress=report)

    monkeypatch.setattr(imports, "run_import", gated)
    sender = threading.Thread(target=worker.run_pending, args=(widget.app,), daemon=True)
    sender.start()
    try:
        assert halfway.wait(15)
        text = job.locator("[data-part=text]")
        expect(text).to_have_text(re.compile(r"^\d.* of \d.* read \(\d+%\)\.$"))
        shown = text.text_content()
        percent = int(re.search(r"\((\d+)%\)", shown).group(1))
        assert 0 < percent < 100, shown
        assert 0 < job.get_by_role("progressbar").evaluate("bar => bar.value") < 100
        expect(job.locator("[data-part=state]")).to_have_text("Running")
        page.screenshot(path=str(artifacts / "dashboard-import-running.png"), full_page=True)
    finally:
        go.set()
        sender.join(60)
    assert not sender.is_alive()

    # The page updates itself to the summary, without a reload.
    expect(job.locator("[data-part=state]")).to_have_text("Done")
    expect(job.locator("[data-part=text]")).to_have_text("Done.")
    expect(job.get_by_text("Imported 3000 comments (3000 approved).")).to_be_visible()
    expect(job.get_by_text("Threads: 30 created, 0 found.")).to_be_visible()
    expect(job.get_by_role("progressbar")).to_be_hidden()
    polls = widget.server.paths("/dashboard/sites/blog/import/")
    assert len(polls) >= 2 and all(re.fullmatch(r"/dashboard/sites/blog/import/\d+\.json", p) for p in polls)
    assert list((tmp_path / "uploads").iterdir()) == []

    # A reload shows the same: the import lives in the database, not in the page.
    page.reload()
    job = page.locator(".import-job").first
    expect(job.locator("[data-part=state]")).to_have_text("Done")
    expect(job.get_by_text("Imported 3000 comments (3000 approved).")).to_be_visible()
    assert widget.thread(url="https://blog.example.com/posts/7/")["thread"]["title"] == "Post 7"
    page.screenshot(path=str(artifacts / "dashboard-import.png"), full_page=True)

    # Nothing sticks out sideways on a phone.
    phone = browser.new_context(locale="en-US", viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    phone.add_cookies(context.cookies())
    phone_page = phone.new_page()
    phone_page.goto(page.url)
    overflow = phone_page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the import page is {overflow}px wider than a 390px phone"
    phone_page.screenshot(path=str(artifacts / "dashboard-import-phone.png"), full_page=True)
    phone.close()
    context.close()


def test_a_file_over_the_limit_is_refused_before_it_is_sent(widget, browser, tmp_path):
    widget.app.config["IMPORT_FOLDER"] = str(tmp_path / "uploads")
    widget.app.config["IMPORT_MAX_BYTES"] = 50_000
    widget.site("blog", origins=["https://blog.example.com"])
    result = widget.runner.invoke(args=["user", "create-admin", "owner@example.com", "--password-stdin"],
                                  input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    source = write_wxr(tmp_path / "big.xml", posts=2, per_post=200)
    page = browser.new_page(locale="en-US")
    page.set_default_timeout(10_000)
    page.goto(f"{widget.server.url}/dashboard/login")
    page.get_by_label("Email").fill("owner@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{widget.server.url}/dashboard/sites/blog/import")
    page.get_by_label("Comes from").select_option("wordpress")
    page.locator("#import-file").set_input_files(str(source))
    page.get_by_role("button", name="Upload and import").click()
    expect(page.locator("#err-file")).to_have_text(re.compile(r"^The file is larger than 49 KB, the most"))
    expect(page.locator("#import-errors")).to_have_text("Nothing was imported: see below.")
    expect(page.locator("#import-file")).to_have_attribute("aria-invalid", "true")
    assert widget.server.paths("/dashboard/sites/blog/import") == ["/dashboard/sites/blog/import"]  # the page only
    page.context.close()
