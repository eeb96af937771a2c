"""Notifications over a real SMTP server on loopback: subscriptions, double opt-in, one-click
unsubscribe, moderator alerts with single-use links, and a sender that loses and repeats nothing."""
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import GUEST, ORIGIN, PAGE, SECRET
from dashboard_helpers import comment_on, create_admin, logged_in, submit
from smtp_server import MailServer, html_of, links, text_of

from widget import worker

ROOT = Path(__file__).resolve().parent.parent
ADA = GUEST
BOB = {"name": "Bob", "email": "bob@example.org"}
CY = {"name": "Cy", "email": "cy@example.org"}
DEE = {"name": "Dee", "email": "dee@example.org"}


@pytest.fixture
def mail():
    with MailServer() as server:
        yield server


@pytest.fixture
def app(make_app, mail):
    return make_app(**mail.config(), OUTBOX_RETRY_FIRST_SECONDS=0.01)


def with_blog(app):
    """A client of an app a test made itself, with the site `blog` made through the CLI."""
    result = app.test_cli_runner().invoke(args=["site", "add", "blog", "--name", "Blog", "--origin", ORIGIN])
    assert result.exit_code == 0, result.output
    return app.test_client()


def send(app):
    """Run the sender once, as the background thread or `flask worker` would."""
    return worker.run_pending(app)


def path_of(url):
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def link(message, fragment):
    found = [url for url in links(message) if fragment in url]
    assert found, (fragment, text_of(message))
    return found[0]


def confirm(client, message):
    url = path_of(link(message, "/mail/confirm/"))
    page = client.get(url)
    assert page.status_code == 200 and "Confirm my address" in page.get_data(as_text=True)
    done = client.post(url)
    assert done.status_code == 200 and "Address confirmed" in done.get_data(as_text=True)


def subscribe(client, post, mail, author, notify="replies", **fields):
    """A guest posts with a notify box ticked and confirms the address from the email received."""
    comment = post(author=author, notify=notify, **fields).get_json()["comment"]
    send(client.application)
    deadline = time.monotonic() + 10
    while not mail.to(author["email"]):
        assert time.monotonic() < deadline, "no confirmation request arrived"
        time.sleep(0.02)
    confirm(client, mail.to(author["email"])[-1])
    return comment


def test_a_reply_reaches_the_subscribed_author_of_its_parent_and_nobody_else(app, client, post, mail):
    ada = subscribe(client, post, mail, ADA, notify="replies", body="What do you all think?")
    subscribe(client, post, mail, CY, notify="all", body="Following this one.")
    post(author=BOB, body="Bob has no box ticked.")
    send(app)
    assert mail.wait_for(3)[-1]["To"] == CY["email"]  # Cy follows the page: she hears of Bob's comment
    before = len(mail.messages)
    # Dee answers Ada, with both boxes ticked: she is told of nothing she wrote herself.
    reply = post(author=DEE, parent_id=ada["id"], notify="all", body="I think *yes*.").get_json()["comment"]
    send(app)
    mail.wait_for(before + 3)
    time.sleep(0.3)
    send(app)
    arrived = mail.messages[before:]
    by_address = {m["To"]: m for m in arrived}
    # Ada hears of the reply to her; Cy follows the page; Dee gets only her own confirmation request.
    assert sorted(by_address) == [ADA["email"], CY["email"], DEE["email"]], [m["To"] for m in arrived]
    assert len(arrived) == 3
    to_ada = by_address[ADA["email"]]
    assert to_ada["Subject"] == "Dee replied to your comment on “https://blog.example.com/posts/hello”"
    assert "I think yes." in text_of(to_ada) or "I think *yes*." in text_of(to_ada)
    assert "<em>yes</em>" in html_of(to_ada)
    assert f"{PAGE}#comment-{reply['id']}" in text_of(to_ada)
    assert "What do you all think?" in text_of(to_ada)  # her own comment, quoted
    assert "Blog" in html_of(to_ada)  # the site's name
    assert by_address[CY["email"]]["Subject"].startswith("New comment by Dee on")
    assert "/mail/confirm/" in text_of(by_address[DEE["email"]])
    # No email address of anyone else is in what Ada receives.
    for other in (CY, DEE, BOB):
        assert other["email"] not in to_ada.as_string()


def test_nothing_is_sent_to_an_address_that_did_not_confirm(app, client, post, mail):
    ada = post(notify="replies").get_json()["comment"]
    send(app)
    assert len(mail.wait_for(1)) == 1  # the confirmation request, nothing else
    post(author=BOB, parent_id=ada["id"], body="A reply Ada never confirmed she wanted.")
    send(app)
    time.sleep(0.3)
    assert len(mail.messages) == 1
    # Asking again within a day sends no second confirmation: a stranger's address cannot be flooded.
    post(notify="all", body="Ada again")
    send(app)
    time.sleep(0.3)
    assert len(mail.messages) == 1


def _flood(post, addresses, headers=None):
    for n, address in enumerate(addresses):
        response = post(author={"name": "Mallory", "email": address}, notify="replies", body=f"Flood {n}",
                        headers=headers)
        assert response.status_code == 201, response.get_json()


def _all_sent(app, mail, settle=0.5):
    """Every email the sender sends now, once nothing more arrives for a while."""
    while send(app):
        pass
    time.sleep(settle)
    return list(mail.messages)


def test_a_plus_tag_flood_sends_one_confirmation_per_mailbox_a_day(app, client, post, mail):
    # One mailbox, many spellings: +tags, capitals, and Gmail's dots and second domain.
    _flood(post, [f"victim+{n}@example.org" for n in range(1, 26)] + ["VICTIM@Example.org", "Victim+x@example.ORG"])
    _flood(post, ["jane.doe@gmail.com", "janedoe+news@gmail.com", "J.a.n.e.D.o.e@googlemail.com"])
    sent = _all_sent(app, mail)
    assert sorted(m["To"] for m in sent) == ["jane.doe@gmail.com", "victim+1@example.org"]
    # Another mailbox of the same domain, or a tag-like name that is a mailbox of its own, is not held back.
    _flood(post, ["victim-two@example.org"])
    assert [m["To"] for m in _all_sent(app, mail)][2:] == ["victim-two@example.org"]


def test_one_sender_spraying_many_mailboxes_gets_few_confirmations_sent(make_app, mail):
    app = make_app(**mail.config(), RATELIMIT_ENABLED=True, RATELIMIT_COMMENTS="1000 per minute",
                   RATELIMIT_NEW_READERS="1000 per minute", RATELIMIT_CONFIRMATIONS="3 per hour")
    client = with_blog(app)

    def post(headers=None, **fields):
        return client.post("/api/v1/comments", json={"site": "blog", "url": PAGE} | fields,
                           headers={"Origin": ORIGIN} | (headers or {}))

    _flood(post, [f"stranger{n}@example.net" for n in range(20)])
    assert len(_all_sent(app, mail)) == 3
    # Another address still has its own.
    other = client.post("/api/v1/comments", json={"site": "blog", "url": PAGE, "body": "hi", "notify": "replies",
                                                  "author": {"name": "Ann", "email": "ann@example.com"}},
                        headers={"Origin": ORIGIN}, environ_base={"REMOTE_ADDR": "192.0.2.9"})
    assert other.status_code == 201
    assert [m["To"] for m in _all_sent(app, mail)][3:] == ["ann@example.com"]


def test_confirm_and_unsubscribe_links_work_from_the_received_message(app, client, post, mail):
    ada = subscribe(client, post, mail, ADA, notify="replies")
    post(author=BOB, parent_id=ada["id"], body="First answer")
    send(app)
    message = mail.wait_for(2)[-1]
    # RFC 8058: a List-Unsubscribe https URL and List-Unsubscribe-Post, and the same link in the text.
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    header_url = message["List-Unsubscribe"].strip("<>")
    assert header_url in text_of(message)
    assert message["Message-ID"] and message["Content-Language"] == "en"
    # A mail scanner opening the link changes nothing: GET only asks.
    assert "Unsubscribe" in client.get(path_of(header_url)).get_data(as_text=True)
    post(author=BOB, parent_id=ada["id"], body="Second answer")
    send(app)
    assert len(mail.wait_for(3)) == 3
    # The mail client's one-click POST, with no cookie and no CSRF token, as RFC 8058 describes it.
    response = app.test_client().post(path_of(header_url), data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and "Unsubscribed" in response.get_data(as_text=True)
    post(author=BOB, parent_id=ada["id"], body="Third answer, never told")
    send(app)
    time.sleep(0.3)
    assert len(mail.messages) == 3
    # Unsubscribing twice is harmless.
    assert app.test_client().post(path_of(header_url)).status_code == 200


def test_subscriptions_are_listed_and_stopped_from_the_page_every_email_links(app, client, post, mail):
    ada = subscribe(client, post, mail, ADA, notify="all")
    post(author=BOB, parent_id=ada["id"], body="An answer")
    send(app)
    message = mail.wait_for(2)[-1]
    manage = path_of(link(message, "/mail/subscriptions/"))
    page = client.get(manage).get_data(as_text=True)
    assert "Replies to your comment on" in page and "New comments on" in page and ADA["email"] in page
    assert client.post(manage, data={"subscription": "all"}).status_code == 200
    assert "None: this address gets no notifications." in client.get(manage).get_data(as_text=True)
    post(author=BOB, body="Not told to anyone")
    send(app)
    time.sleep(0.3)
    assert len(mail.messages) == 2
    assert client.post(manage, data={"subscription": "<script>"}).status_code == 400


@pytest.mark.parametrize("path", ["/mail/confirm/forged", "/mail/unsubscribe/x.y.z", "/mail/subscriptions/" + "a" * 600,
                                  "/mail/moderate/eyJjIjoxfQ.forged"])
def test_forged_links_are_refused_without_changing_anything(client, site, path):
    for method in (client.get, client.post):
        response = method(path)
        assert response.status_code == 404
        assert "This link does not work" in response.get_data(as_text=True)
        assert response.headers["Referrer-Policy"] == "no-referrer"


def test_no_email_for_held_or_spam_comments_and_approval_releases_it(app, client, post, mail, set_site, admin):
    ada = subscribe(client, post, mail, ADA, notify="replies")
    set_site("moderation", "all")
    set_site("moderator_alerts", "off")  # only readers' emails are counted here; the administrator's are not
    held = post(author=BOB, parent_id=ada["id"], body="Held for review").get_json()["comment"]
    post(author=CY, parent_id=ada["id"], body="Spam from a bot", honeypot="http://spam.example").get_json()
    assert held["status"] == "pending"
    send(app)
    time.sleep(0.3)
    assert len(mail.messages) == 1  # only Ada's confirmation
    submit(admin, f"/dashboard/sites/blog/comments/{held['id']}/moderate", {"action": "approve"})
    send(app)
    message = mail.wait_for(2)[-1]
    assert message["To"] == ADA["email"] and "Held for review" in text_of(message)
    # Approving again (spam, then approve) tells nobody twice.
    submit(admin, f"/dashboard/sites/blog/comments/{held['id']}/moderate", {"action": "spam"})
    submit(admin, f"/dashboard/sites/blog/comments/{held['id']}/moderate", {"action": "approve"})
    send(app)
    time.sleep(0.3)
    assert len(mail.messages) == 2


def test_moderators_approve_from_the_email_once(app, client, post, mail, set_site):
    set_site("moderation", "all")
    set_site("notify_email", "owner@blog.example.com")
    comment = post(body="Please let me in").get_json()["comment"]
    send(app)
    message = mail.wait_for(1)[0]
    assert message["To"] == "owner@blog.example.com"
    assert "waits for review" in message["Subject"] and "Please let me in" in text_of(message)
    approve = path_of(link(message, "/mail/moderate/"))
    spam = path_of([u for u in links(message) if "/mail/moderate/" in u][1])
    # Opening the link (a mail scanner does) does not approve.
    assert "Approve this comment?" in client.get(approve).get_data(as_text=True)
    assert client.get("/api/v1/threads", query_string={"site": "blog", "url": PAGE}).get_json()["comments"] == []
    done = client.post(approve)
    assert done.status_code == 200 and "Approved" in done.get_data(as_text=True)
    shown = client.get("/api/v1/threads", query_string={"site": "blog", "url": PAGE}).get_json()["comments"]
    assert [c["id"] for c in shown] == [comment["id"]]
    # Single use: the same link, and the other one, change nothing now.
    assert client.post(approve).status_code in (404, 409)
    again = client.post(spam)
    assert again.status_code == 409 and "already" in again.get_data(as_text=True)
    assert client.get("/api/v1/threads", query_string={"site": "blog", "url": PAGE}).get_json()["comments"] != []


def test_a_solo_administrator_who_follows_the_readme_hears_of_a_held_comment(make_app, mail):
    app = make_app(**mail.config())
    runner = app.test_cli_runner()
    # The README's first steps: an administrator, a site added from the command line (which makes nobody its
    # owner), and a moderation mode; notify_email stays off.
    create_admin(runner, "you@example.com")
    for args in (["site", "add", "myblog", "--name", "My blog", "--origin", ORIGIN],
                 ["site", "set", "myblog", "moderation", "first-time"]):
        assert runner.invoke(args=args).exit_code == 0
    posted = app.test_client().post("/api/v1/comments", headers={"Origin": ORIGIN}, json={
        "site": "myblog", "url": PAGE, "body": "A first comment, held", "author": ADA})
    assert posted.get_json()["comment"]["status"] == "pending"
    sent = runner.invoke(args=["worker", "--once"])
    assert sent.exit_code == 0, sent.output
    [message] = mail.wait_for(1)
    assert message["To"] == "you@example.com" and "waits for review" in message["Subject"]
    assert "A first comment, held" in text_of(message)
    # The administrator approves it from the email, as a member would.
    done = app.test_client().post(path_of(link(message, "/mail/moderate/")))
    assert done.status_code == 200 and "Approved" in done.get_data(as_text=True)
    # And the site's page says who is told.
    page = logged_in(app, "you@example.com").get("/dashboard/sites/myblog").get_data(as_text=True)
    assert "Comments that wait for review are emailed to\n    you@example.com." in page


def test_the_site_page_warns_when_nobody_will_hear_of_held_comments(make_app, mail):
    app = make_app(**mail.config())
    runner = app.test_cli_runner()
    create_admin(runner, "you@example.com")
    assert runner.invoke(args=["site", "add", "myblog", "--name", "My blog", "--origin", ORIGIN]).exit_code == 0
    admin = logged_in(app, "you@example.com")
    assert "Nobody will be told" not in admin.get("/dashboard/sites/myblog").get_data(as_text=True)
    assert runner.invoke(args=["site", "set", "myblog", "moderator_alerts", "off"]).exit_code == 0
    page = admin.get("/dashboard/sites/myblog").get_data(as_text=True)
    assert "Nobody will be told when a comment waits for review" in page and "turned off" in page


def test_a_daily_digest_instead_of_an_email_each(app, client, post, mail, set_site):
    from widget.extensions import db
    from widget.models import Job, utcnow

    set_site("moderation", "all")
    set_site("notify_email", "owner@blog.example.com")
    set_site("moderator_alerts", "daily")
    post(body="First waiting")
    post(author=BOB, body="Second waiting")
    send(app)
    time.sleep(0.3)
    assert mail.messages == []  # nothing until the morning
    with app.app_context():
        digests = db.session.scalars(db.select(Job).where(Job.kind == "digest")).all()
        assert len(digests) == 1 and digests[0].run_at > utcnow()
        digests[0].run_at = utcnow()  # the morning comes
        db.session.commit()
    send(app)
    send(app)
    message = mail.wait_for(1)[0]
    assert message["Subject"] == "[Blog] 2 comments wait for review"
    assert "First waiting" in text_of(message) and "Second waiting" in text_of(message)
    assert len([u for u in links(message) if "/mail/moderate/" in u]) == 4


def test_a_flood_of_held_comments_and_mentions_gives_one_alert_then_a_summary(app, client, post, mail, set_site):
    from test_webmention import SourceSite, post_page

    from widget.extensions import db
    from widget.models import Job, utcnow

    app.config["ALLOW_PRIVATE_TARGETS"] = True
    set_site("moderation", "all")
    set_site("notify_email", "owner@blog.example.com")
    source = SourceSite()
    try:
        for n in range(40):
            post(author={"name": f"Bot {n}", "email": f"bot{n}@example.net"}, body=f"Held comment {n}")
            url = source.serve(f"/mention/{n}", post_page(title=f"Mention {n}"))
            assert client.post("/webmention/blog", data={"source": url, "target": PAGE}).status_code == 202
        sent = _all_sent(app, mail)
    finally:
        source.close()
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Job.id)).where(Job.kind == "held")) == 80
    # The first is told at once, with its own buttons; the rest wait for the summary.
    assert len(sent) == 1 and "waits for review" in sent[0]["Subject"]
    with app.app_context():
        summaries = db.session.scalars(db.select(Job).where(Job.kind == "digest", Job.status == "queued")).all()
        assert 1 <= len(summaries) <= 2  # two when the flood crossed the end of a period
        assert all(utcnow() < job.run_at <= utcnow() + timedelta(minutes=15) for job in summaries)
        for job in summaries:
            job.run_at = utcnow()  # the period ends
        db.session.commit()
    sent = _all_sent(app, mail)
    assert 2 <= len(sent) <= 3 and {m["To"] for m in sent} == {"owner@blog.example.com"}
    assert sent[1]["Subject"] == "[Blog] 80 comments wait for review"
    assert "the 50 that came first" in text_of(sent[1]) and "every 15 minutes" in text_of(sent[1])


def test_a_comment_held_on_a_quiet_site_is_told_at_once_and_only_once(app, client, post, mail, set_site):
    from widget.extensions import db
    from widget.models import Job, utcnow

    set_site("moderation", "all")
    set_site("notify_email", "owner@blog.example.com")
    post(body="Alone in the queue")
    assert len(_all_sent(app, mail)) == 1
    with app.app_context():  # the period ends with nothing more held: no summary repeats it
        for job in db.session.scalars(db.select(Job).where(Job.kind == "digest", Job.status == "queued")):
            job.run_at = utcnow()
        db.session.commit()
    assert len(_all_sent(app, mail)) == 1


def test_a_comment_held_as_another_sender_sums_up_the_period_is_still_told(app, client, post, mail, set_site):
    # Two senders: one takes up the alert of a comment held as the period ends and leaves it to the period's
    # summary; before it has recorded so, the other sends that summary. The moderators still hear of it.
    from widget import outbox
    from widget.extensions import db
    from widget.models import Job, utcnow

    app.config["MODERATOR_ALERT_MINUTES"] = 600  # so that the test never straddles the end of a period
    set_site("moderation", "all")
    set_site("notify_email", "owner@blog.example.com")
    post(body="Told at once")
    assert len(_all_sent(app, mail)) == 1

    def end_the_periods():
        with app.app_context():
            for job in db.session.scalars(db.select(Job).where(Job.kind == "digest", Job.status == "queued")):
                job.run_at = utcnow()
            db.session.commit()

    post(author=BOB, body="Held as the period ends")
    with app.app_context():
        held = outbox.claim("second sender", utcnow(), 300, kinds=("held",))
        decided = worker.HANDLERS["held"](app, held, None)
        end_the_periods()
        send(app)  # the first sender, meanwhile, sends what is due: the period's summary
        outbox.finish(held, decided)
    end_the_periods()  # and any later summary the comment was left to
    sent = _all_sent(app, mail)
    assert [m["To"] for m in sent] == ["owner@blog.example.com"] * len(sent)
    assert any("Held as the period ends" in text_of(m) for m in sent[1:]), [m["Subject"] for m in sent]


def test_a_reader_whose_provider_vouches_for_the_email_needs_no_confirmation(make_app, mail):
    from oidc_provider import LoopbackProvider
    from test_auth import SERVER, bearer, provider_config, token_for

    with LoopbackProvider() as provider:
        provider.redirect_uris.append(f"{SERVER}/auth/callback/testid")
        app = make_app(**mail.config(), **provider_config(provider))
        client = with_blog(app)
        token = token_for(client, sub="grace", name="Grace Hopper")
        grace = comment_on(client, "Hi", author=None, notify="replies", headers=bearer(token))
        comment_on(client, "Hello Grace", author=BOB, parent_id=grace["id"])
        worker.run_pending(app)
        worker.run_pending(app)
        message = mail.wait_for(1)[0]
        assert message["To"] == "grace@provider.test" and "Hello Grace" in text_of(message)


def test_emails_are_in_the_readers_language(app, client, post, mail):
    post(notify="replies", lang="de-AT")
    send(app)
    message = mail.wait_for(1)[0]
    assert message["Subject"] == "Bestätige deine Adresse für Kommentare auf Blog"
    assert message["Content-Language"] == "de"


def test_a_reply_email_in_arabic_reads_right_to_left(app, client, post, mail):
    ada = post(notify="replies", body="ما رأيكم؟", lang="ar-EG").get_json()["comment"]
    send(app)
    request = mail.wait_for(1)[0]
    assert '<html lang="ar" dir="rtl">' in html_of(request)
    # The page the link opens speaks the reader's language too, right to left.
    url = path_of(link(request, "/mail/confirm/"))
    page = client.get(url).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page and "تأكيد عنواني" in page
    assert "تم تأكيد العنوان" in client.post(url).get_data(as_text=True)
    before = len(mail.messages)
    post(author=BOB, parent_id=ada["id"], body="I agree.")
    send(app)
    to_ada = mail.wait_for(before + 1)[-1]
    assert to_ada["Subject"] == "ردّ Bob على تعليقك على «https://blog.example.com/posts/hello»"
    assert to_ada["Content-Language"] == "ar"
    html = html_of(to_ada)
    assert '<html lang="ar" dir="rtl">' in html and '<div dir="rtl"' in html
    # The quote bars stand on the reader's starting side, the right, in mail programs without logical CSS.
    assert "border-right:4px" in html and "border-left" not in html


def test_an_unreachable_smtp_server_loses_nothing_and_the_email_goes_out_when_it_returns(app, client, post, mail):
    from widget.extensions import db
    from widget.models import Job

    mail.stop()
    post(notify="replies")
    send(app)
    with app.app_context():
        job = db.session.scalars(db.select(Job).where(Job.kind == "email")).one()
        assert job.status == "queued" and job.attempts == 1 and "cannot reach the SMTP server" in job.result
    mail.start()
    time.sleep(0.1)  # the retry's backoff
    send(app)
    assert mail.wait_for(1)[0]["To"] == ADA["email"]
    with app.app_context():
        assert db.session.scalars(db.select(Job.status).where(Job.kind == "email")).all() == ["done"]


def _worker_process(app, mail, lease_seconds=1):
    # A short lease lets a restarted sender take over a killed one's jobs soon. A sender whose lease runs
    # out while it sends (a busy machine can stall it a second) loses its job to another: at least once.
    env = os.environ | {
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "PARLEY_SECRET_KEY": SECRET,
        "PARLEY_SMTP_HOST": "127.0.0.1", "PARLEY_SMTP_PORT": str(mail.port),
        "PARLEY_OUTBOX_LEASE_SECONDS": str(lease_seconds),
        "PARLEY_OUTBOX_POLL_SECONDS": "0.2", "PARLEY_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def eight_followers(app, client, post):
    """Eight readers who confirmed they follow a page (their emails sent to a server of their own)."""
    readers = [{"name": f"Reader {i}", "email": f"reader{i}@example.org"} for i in range(8)]
    with MailServer() as quick:
        app.config.update(quick.config())
        first = post(author=ADA, body="The post everyone follows").get_json()["comment"]
        for reader in readers:
            subscribe(client, post, quick, reader, notify="all", body=f"{reader['name']} follows")
    return readers, first


def test_a_sender_killed_in_the_middle_of_a_batch_and_restarted_sends_each_email_exactly_once(app, client, post):
    readers, first = eight_followers(app, client, post)
    with MailServer(delay=0.4) as slow:
        post(author=BOB, parent_id=first["id"], body="News for all eight")
        sender = _worker_process(app, slow)
        try:
            slow.wait_for(3, timeout=60)
            # Into the next message: the server is still taking its recipient. (Killed in the instant between
            # the server's "250 accepted" and the sender's commit, an email would go twice: SMTP cannot tell a
            # sender whether a message whose answer it never read arrived, RFC 1047.)
            time.sleep(0.2)
        finally:
            sender.send_signal(signal.SIGKILL)  # kill -9, mid-batch
            sender.wait(10)
        assert len(slow.messages) < len(readers)
        restarted = _worker_process(app, slow)
        try:
            slow.wait_for(len(readers), timeout=60)
            time.sleep(2)  # anything sent twice would arrive by now
        finally:
            restarted.terminate()
            output = restarted.communicate(timeout=10)[0].decode()
        assert restarted.returncode == 0, output
        received = sorted(m["To"] for m in slow.messages)
        assert received == sorted(r["email"] for r in readers)


def test_the_server_sends_by_itself_without_slowing_the_post(make_app, mail):
    app = make_app(**mail.config(), BACKGROUND_SENDER=True, OUTBOX_POLL_SECONDS=0.5)
    client = with_blog(app)
    try:
        comment_on(client, "Hi", author=ADA, notify="replies")
        assert mail.wait_for(1, timeout=10)[0]["To"] == ADA["email"]
    finally:
        worker.stop_in_background(app)


def test_without_an_smtp_server_readers_are_offered_nothing_and_emails_wait_for_one(make_app, mail):
    from dashboard_helpers import create_admin, logged_in

    from widget.extensions import db
    from widget.models import Job

    app = make_app()  # no PARLEY_SMTP_HOST
    client = with_blog(app)
    runner = app.test_cli_runner()
    frame = client.get("/embed/thread", query_string={"site": "blog", "url": PAGE, "origin": ORIGIN})
    assert frame.status_code == 200 and "parley-notify" not in frame.get_data(as_text=True)
    create_admin(runner)
    overview = logged_in(app).get("/dashboard/sites/blog").get_data(as_text=True)
    assert "This server sends no email yet" in overview
    # An API client may still ask; the email waits, spending none of its attempts.
    comment_on(client, "Hi", author=ADA, notify="replies")
    worker.run_pending(app)
    with app.app_context():
        assert db.session.scalars(db.select(Job.attempts).where(Job.kind == "email")).all() == [0]
    app.config.update(mail.config())
    worker.run_pending(app)
    assert mail.wait_for(1)[0]["To"] == ADA["email"]
    frame = client.get("/embed/thread", query_string={"site": "blog", "url": PAGE, "origin": ORIGIN})
    assert 'id="parley-notify-replies"' in frame.get_data(as_text=True)


def test_a_slow_mail_server_does_not_hold_up_readers_posting(make_app):
    # The mail server takes longer over one message than a write may wait for the database
    # (SQLite's busy timeout is 5 s): were the sender holding a transaction meanwhile, this post would fail.
    with MailServer(delay=6) as slow:
        app = make_app(**slow.config(), BACKGROUND_SENDER=True, OUTBOX_POLL_SECONDS=0.2)
        client = with_blog(app)
        try:
            comment_on(client, "Hi", author=ADA, notify="replies")
            assert slow.busy.wait(10)  # the sender is handing the confirmation over
            comment_on(client, "Meanwhile", author=BOB)  # answered 201 while the email is on its way
            assert not slow.messages  # the first email was still on its way
            assert slow.wait_for(1, timeout=15)[0]["To"] == ADA["email"]
        finally:
            worker.stop_in_background(app)


def test_two_senders_at_once_send_each_email_exactly_once(app, client, post):
    readers, first = eight_followers(app, client, post)
    with MailServer(delay=0.1) as mail:
        post(author=BOB, parent_id=first["id"], body="News for all eight")
        # Both alive throughout: no job should change hands, however slowly one is sent.
        senders = [_worker_process(app, mail, lease_seconds=30) for _ in range(2)]
        try:
            mail.wait_for(len(readers), timeout=60)
            time.sleep(2)  # anything sent twice would arrive by now
        finally:
            for sender in senders:
                sender.terminate()
            outputs = [sender.communicate(timeout=10)[0].decode() for sender in senders]
        assert all(sender.returncode == 0 for sender in senders), outputs
        assert sorted(m["To"] for m in mail.messages) == sorted(r["email"] for r in readers)
