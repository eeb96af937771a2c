"""A site's own pages: adding a site, its settings, the overview's chart and the audit log."""
import re
from datetime import timedelta

import pytest
from conftest import ORIGIN
from dashboard_helpers import OTHER_ORIGIN, audit_rows, comment_on, submit
from helpers import row_counts


def test_admin_adds_a_site_and_gets_its_snippet(app, admin):
    page = admin.get("/dashboard/sites/new")
    assert page.status_code == 200
    response = submit(admin, "/dashboard/sites/new", {"public_id": "shop", "name": "The Shop",
                                                      "origins": "https://Shop.Example.com\nhttps://www.shop.example.com:443"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard/sites/shop")
    overview = admin.get("/dashboard/sites/shop").get_data(as_text=True)
    assert ('&lt;script src=&#34;http://comments.test/embed.js&#34; data-parley-site=&#34;shop&#34; async&gt;'
            in overview)
    assert "Copy snippet" in overview
    assert "https://shop.example.com, https://www.shop.example.com" in overview
    assert ("site.create", "admin") == audit_rows(app)[-1][:2]


@pytest.mark.parametrize("form,message", [
    ({"public_id": "Bad Id", "name": "x", "origins": "https://a.example"}, "site id is 1 to 40"),
    ({"public_id": "ok", "name": "x", "origins": "a.example"}, "not an origin"),
    ({"public_id": "ok", "name": "", "origins": "https://a.example"}, "1 to 200 characters"),
    ({"public_id": "blog", "name": "x", "origins": "https://a.example"}, "already exists"),
])
def test_add_site_validation_is_said_and_nothing_is_stored(app, admin, form, message):
    before = row_counts(app)
    response = submit(admin, "/dashboard/sites/new", form)
    assert response.status_code in (400, 409)
    assert message in response.get_data(as_text=True)
    assert row_counts(app) == before


def test_every_setting_is_editable_and_validated(app, admin, read, post):
    page = admin.get("/dashboard/sites/blog/settings").get_data(as_text=True)
    from widget.sites import SETTINGS

    for key in SETTINGS:
        if key != "providers":
            assert f'name="{key}"' in page, key
    assert 'name="providers_mode"' in page
    bad = {"name": "", "origins": "not-an-origin", "moderation": "sometimes", "edit_window": "1.5",
           "max_depth": "99", "close_after_days": "-3", "max_body_length": "0", "max_links": "x",
           "notify_email": "nope", "privacy_url": "javascript:alert(1)", "ban_action": "shrug"}
    response = submit(admin, "/dashboard/sites/blog/settings", bad)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    for message in ("1 to 200 characters", "not an origin", "expected one of", "whole number", "from 2 to 20",
                    "not an email address", "not an http or https URL"):
        assert message in text, message
    assert 'aria-invalid="true"' in text
    assert read().status_code == 200 and admin.get("/dashboard/sites/blog").status_code == 200

    good = {"name": "Blog renamed", "origins": f"{ORIGIN}\n{OTHER_ORIGIN}", "moderation": "all",
            "edit_window": "30", "max_depth": "3", "close_after_days": "", "max_body_length": "500",
            "max_links": "2", "notify_email": "owner@example.com", "privacy_url": "https://blog.example.com/privacy",
            "ban_action": "hold", "guests_allowed": "yes", "providers_mode": "none"}
    response = submit(admin, "/dashboard/sites/blog/settings", good)
    assert response.status_code == 302
    listing = app.test_cli_runner().invoke(args=["site", "list"]).output
    for expected in ("Blog renamed", "moderation        all", "edit_window       30", "providers         none",
                     "ban_action        hold", f"{ORIGIN}, {OTHER_ORIGIN}", "close_after_days  off"):
        assert expected in listing, expected
    # The widget sees the change at once.
    assert post(body="x" * 501).status_code == 400
    assert post().get_json()["comment"]["status"] == "pending"
    action, _, _, before, after = audit_rows(app)[-1]
    assert action == "site.settings" and before["moderation"] == "none" and after["moderation"] == "all"



# Audit log and chart -----------------------------------------------------------------------------------

def test_audit_log_shows_who_what_when_before_and_after(app, admin, client):
    comment = comment_on(client, "x")
    submit(admin, f"/dashboard/sites/blog/comments/{comment['id']}/moderate", {"action": "spam"})
    page = admin.get("/dashboard/sites/blog/audit").get_data(as_text=True)
    assert "comment.spam" in page and "admin" in page
    row = re.search(r"<tr class=\"changed\"><th scope=\"row\">status</th><td>(\w+)</td><td>(\w+)</td>", page)
    assert row and row.groups() == ("approved", "spam")
    filtered = admin.get("/dashboard/sites/blog/audit?action=site.settings").get_data(as_text=True)
    assert "comment.spam</code>" not in filtered
    assert admin.get("/dashboard/sites/blog/audit?before=x").status_code == 400


def test_chart_counts_comments_per_day_and_totals_by_status(app, admin, client):
    from widget.extensions import db
    from widget.models import Comment

    ids = [comment_on(client, f"c{n}")["id"] for n in range(4)]
    with app.app_context():
        for cid, days_ago in zip(ids, (0, 0, 3, 40), strict=True):
            db.session.get(Comment, cid).created_at -= timedelta(days=days_ago)
        db.session.commit()
    submit(admin, f"/dashboard/sites/blog/comments/{ids[0]}/moderate", {"action": "spam"})
    page = admin.get("/dashboard/sites/blog").get_data(as_text=True)
    bars = re.findall(r"<title>(\d{4}-\d\d-\d\d): (\d+) comments?</title>", page)
    assert len(bars) == 30
    assert [int(n) for _, n in bars][-1] == 2 and [int(n) for _, n in bars][-4] == 1
    assert sum(int(n) for _, n in bars) == 3  # the one 40 days old is outside the window
    assert "3 in all" in page
    assert re.search(r'<span class="stat-number">3</span><span class="stat-label">Published', page)
    assert re.search(r'<span class="stat-number">1</span><span class="stat-label">Spam', page)


def test_chart_geometry_scales_to_the_busiest_day():
    from datetime import date

    from widget.dashboard.chart import bar_chart

    days = [(date(2026, 1, 1) + timedelta(days=n), n % 5) for n in range(30)]
    chart = bar_chart(days)
    assert chart.peak == 4 and chart.total == sum(n % 5 for n in range(30))
    assert chart.scale == [5, None, 0]  # a round top above the busiest day
    tallest = max(chart.bars, key=lambda bar: bar.height)
    assert tallest.count == 4 and tallest.height == chart.height * 4 / 5
    assert tallest.y + tallest.height == chart.height  # bars stand on the baseline
    assert [bar.x for bar in chart.bars] == sorted(bar.x for bar in chart.bars)
    assert all(bar.height == 0 for bar in chart.bars if bar.count == 0)
    assert [span for _, span in chart.labels] == [7, 7, 7, 7, 2]
    assert bar_chart([(date(2026, 1, 1), 0)]).peak == 0
    assert bar_chart([(date(2026, 1, 1), 1), (date(2026, 1, 2), 1000)]).bars[0].height == 2  # still visible


def test_audit_log_names_what_was_acted_on_and_keeps_the_name_after_it_is_gone(app, admin, client):
    comment = comment_on(client, "Something rude", title="A post", author={"name": "Jo", "email": "jo@example.org"})
    submit(admin, f"/dashboard/sites/blog/comments/{comment['id']}/moderate", {"action": "spam"})
    submit(admin, f"/dashboard/sites/blog/people/{comment['id']}/ban",
           {"kind": "email", "reason": "rude", "days": "never"})
    from widget.extensions import db
    from widget.models import Comment

    with app.app_context():  # the comment goes for good; the log still says whose it was
        db.session.execute(db.delete(Comment).where(Comment.id == comment["id"]))
        db.session.commit()
    log = admin.get("/dashboard/sites/blog/audit").get_data(as_text=True)
    assert "comment by Jo on “A post”" in log
    assert "ban of Jo" in log
    assert f"#{comment['id']}" not in log
