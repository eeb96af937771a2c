"""Webhooks: signed deliveries to a real receiver, retries, refused targets, and who may set them up."""
import base64
import hashlib
import hmac
import json
import re
import socket
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from dashboard_helpers import accept_invitation, audit_rows, invitation_link, submit
from helpers import row_counts, serve_in_background, stored_comment

from widget import outbound, worker

EVENTS = ["comment.created", "comment.approved", "comment.deleted"]
TOLERANCE_SECONDS = 5 * 60
HOOKS = "/dashboard/sites/blog/webhooks"


@pytest.fixture
def app(make_app):
    # The sender runs by hand here (worker.run_pending), and the receiver listens on loopback.
    return make_app(BACKGROUND_SENDER=False, ALLOW_PRIVATE_TARGETS=True, OUTBOX_RETRY_FIRST_SECONDS=0.05,
                    OUTBOUND_TIMEOUT_SECONDS=5)


# A receiver that checks what it gets as the Standard Webhooks spec tells receivers to --------------

def verify(secret, headers, body, now=None):
    """Why a delivery fails the Standard Webhooks check, or None when it passes."""
    message_id, timestamp = headers.get("webhook-id"), headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not (message_id and timestamp and signatures):
        return "a webhook header is missing"
    if abs((now or time.time()) - int(timestamp)) > TOLERANCE_SECONDS:
        return "the timestamp is too far from now"
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, f"{message_id}.{timestamp}.".encode() + body,
                                         hashlib.sha256).digest()).decode()
    for signature in signatures.split(" "):
        version, _, value = signature.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return None
    return "no signature matches"


class Receiver:
    """An HTTP server on loopback that records each request and answers with the next scripted status."""

    def __init__(self):
        self.requests, self.statuses, self.secret = [], [], None
        self.delay = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                problem = verify(receiver.secret, headers, body) if receiver.secret else "no secret known"
                receiver.requests.append({"path": self.path, "headers": headers, "body": body, "problem": problem})
                time.sleep(receiver.delay)
                status = receiver.statuses.pop(0) if receiver.statuses else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks/parley"
        self.thread = serve_in_background(self.server)

    def messages(self):
        return [json.loads(r["body"]) for r in self.requests]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    found = Receiver()
    yield found
    found.close()


def add_hook(client, url, events=EVENTS, site_id="blog"):
    return submit(client, f"/dashboard/sites/{site_id}/webhooks", {"url": url, "events": list(events)})


def shown_secret(client, site_id="blog"):
    page = client.get(f"/dashboard/sites/{site_id}/webhooks").get_data(as_text=True)
    match = re.search(r'id="webhook-secret" value="(whsec_[A-Za-z0-9+/=]+)"', page)
    assert match, page[:3000]
    return match.group(1)


def hook_id(app, url):
    from widget.extensions import db
    from widget.models import Webhook

    with app.app_context():
        return db.session.scalar(db.select(Webhook.id).where(Webhook.url == url))


def jobs(app):
    from widget.extensions import db
    from widget.models import Job

    with app.app_context():
        return [{"status": j.status, "attempts": j.attempts, "result": j.result, "payload": j.payload}
                for j in db.session.scalars(db.select(Job).where(Job.kind == "webhook").order_by(Job.id))]


@pytest.fixture
def hooked(app, admin, receiver):
    """Site blog with a webhook for every event at the receiver, which knows the secret the dashboard shows."""
    assert add_hook(admin, receiver.url).status_code == 302
    receiver.secret = shown_secret(admin)
    return admin


# Deliveries -------------------------------------------------------------------------------------------

def test_comment_events_reach_the_receiver_signed_and_without_emails(app, hooked, receiver, post, set_site):
    comment = post(body="Hello **hooks**").get_json()["comment"]
    worker.run_pending(app)
    [delivery] = receiver.requests
    assert delivery["problem"] is None
    assert delivery["path"] == "/hooks/parley"
    assert delivery["headers"]["content-type"] == "application/json"
    assert delivery["headers"]["host"] == f"127.0.0.1:{receiver.port}"
    assert re.fullmatch(r"msg_[A-Za-z0-9_-]+", delivery["headers"]["webhook-id"])
    message = json.loads(delivery["body"])
    assert message["type"] == "comment.created" and message["timestamp"].endswith("Z")
    data = message["data"]
    assert (data["id"], data["site"], data["status"]) == (comment["id"], "blog", "approved")
    assert data["body"] == "Hello **hooks**" and "<strong>hooks</strong>" in data["html"]
    assert data["author"] == {"name": "Ada", "website": "https://ada.example.org"}
    assert data["thread"]["url"] == "https://blog.example.com/posts/hello"
    # What a CDN purge needs: the thread id its public reads are keyed by (Surrogate-Key).
    read = app.test_client().get("/api/v1/threads", query_string={"site": "blog", "url": data["thread"]["url"]})
    assert f"parley-thread-{data['thread']['id']}" in read.headers["Surrogate-Key"].split()
    assert b"ada@example.org" not in delivery["body"] and b"email" not in delivery["body"]

    # A held comment is told of when posted and again when approved; a deleted one, without its words.
    set_site("moderation", "all")
    held = post(body="Wait for me").get_json()["comment"]
    assert held["status"] == "pending"
    worker.run_pending(app)
    submit(hooked, f"/dashboard/sites/blog/comments/{held['id']}/moderate", {"action": "approve"})
    worker.run_pending(app)
    submit(hooked, f"/dashboard/sites/blog/comments/{held['id']}/moderate", {"action": "delete"})
    worker.run_pending(app)
    messages = receiver.messages()
    assert [m["type"] for m in messages] == ["comment.created", "comment.created", "comment.approved",
                                            "comment.deleted"]
    assert [m["data"]["status"] for m in messages[1:]] == ["pending", "approved", "deleted"]
    assert {m["data"]["id"] for m in messages[1:]} == {held["id"]}
    assert "body" not in messages[-1]["data"] and "author" not in messages[-1]["data"]
    assert all(r["problem"] is None for r in receiver.requests)
    assert len({r["headers"]["webhook-id"] for r in receiver.requests}) == 4


def test_events_not_chosen_are_not_sent(app, admin, receiver, post):
    assert add_hook(admin, receiver.url, events=["comment.deleted"]).status_code == 302
    receiver.secret = shown_secret(admin)
    comment = post().get_json()["comment"]
    worker.run_pending(app)
    assert receiver.requests == [] and jobs(app) == []
    submit(admin, f"/dashboard/sites/blog/comments/{comment['id']}/moderate", {"action": "delete"})
    worker.run_pending(app)
    assert [m["type"] for m in receiver.messages()] == ["comment.deleted"]


def test_a_webhook_added_or_removed_after_posts_counts_from_the_next_post(app, admin, receiver, post):
    # Posts remember that a site has no webhook; adding one must end that at once, and removing it too.
    assert add_hook(admin, receiver.url).status_code == 302  # the site's secret is made once, here
    receiver.secret = shown_secret(admin)
    assert submit(admin, f"{HOOKS}/remove", {"webhook": str(hook_id(app, receiver.url))}).status_code == 302
    post(body="While the site has no webhook")
    assert add_hook(admin, receiver.url).status_code == 302
    post(body="With a webhook")
    worker.run_pending(app)
    assert [m["data"]["body"] for m in receiver.messages()] == ["With a webhook"]
    assert submit(admin, f"{HOOKS}/remove", {"webhook": str(hook_id(app, receiver.url))}).status_code == 302
    post(body="After it was removed")
    worker.run_pending(app)
    assert len(receiver.requests) == 1 and len(jobs(app)) == 1


def test_spam_is_never_sent(app, hooked, receiver, post, set_site):
    set_site("blocked_words", "casino")
    comment = post(body="Best casino bonus").get_json()["comment"]
    assert stored_comment(app, comment["id"])["status"] == "spam"
    worker.run_pending(app)
    assert receiver.requests == [] and jobs(app) == []


def test_a_failed_delivery_is_retried_with_the_same_id_and_shown(app, hooked, receiver, post):
    receiver.statuses = [500]
    post()
    worker.run_pending(app)
    [job] = jobs(app)
    assert (job["status"], job["attempts"], job["result"]) == ("queued", 1, "HTTP 500")
    page = hooked.get(HOOKS).get_data(as_text=True)
    assert "retrying" in page and "HTTP 500" in page

    deadline = time.monotonic() + 5
    while len(receiver.requests) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
        worker.run_pending(app)
    first, second = receiver.requests
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"]
    assert first["body"] == second["body"] and second["problem"] is None
    [job] = jobs(app)
    assert (job["status"], job["attempts"], job["result"]) == ("done", 2, "HTTP 204")
    row = re.search(r'<tr class="delivery">(.*?)</tr>', hooked.get(HOOKS).get_data(as_text=True), re.S).group(1)
    for expected in ("comment.created", receiver.url, "done", ">2<", "HTTP 204"):
        assert expected in row, expected


def test_gone_stops_at_once(app, hooked, receiver, post):
    receiver.statuses = [410]
    post()
    worker.run_pending(app)
    time.sleep(0.2)
    worker.run_pending(app)
    [job] = jobs(app)
    assert job["status"] == "failed" and job["attempts"] == 1 and "410" in job["result"]
    assert len(receiver.requests) == 1


def test_a_slow_receiver_times_out_and_is_retried(app, hooked, receiver, post):
    app.config["OUTBOUND_TIMEOUT_SECONDS"] = 0.3
    receiver.delay = 1.0
    post()
    worker.run_pending(app)
    [job] = jobs(app)
    assert job["status"] == "queued" and "timed out" in job["result"]


def test_a_receiver_that_never_answers_in_time_is_tried_twice_not_twelve_times(app, hooked, receiver, post):
    # Each attempt costs the webhook lane its whole deadline: a site with twenty webhooks at a black hole would
    # otherwise spend it 240 deadlines per event.
    app.config["OUTBOUND_TIMEOUT_SECONDS"] = 0.3
    receiver.delay = 1.0
    post()
    worker.run_pending(app)
    [job] = jobs(app)
    assert (job["status"], job["attempts"], job["result"]) == ("queued", 1, "timed out after 0.3 s")
    time.sleep(0.2)  # the retry's backoff
    worker.run_pending(app)
    [job] = jobs(app)
    assert (job["status"], job["attempts"], job["result"]) == (
        "failed", 2, "timed out after 0.3 s on attempt 2: not tried again")
    time.sleep(0.2)
    worker.run_pending(app)
    assert len(receiver.requests) == 2


def test_a_removed_webhook_gets_nothing_still_queued(app, hooked, receiver, post):
    post()
    response = submit(hooked, f"{HOOKS}/remove", {"webhook": str(hook_id(app, receiver.url))})
    assert response.status_code == 302
    worker.run_pending(app)
    assert receiver.requests == []
    [job] = jobs(app)
    assert (job["status"], job["result"]) == ("done", "not sent: webhook removed")
    assert "webhook.remove" in [row[0] for row in audit_rows(app)]


def test_test_event_and_rotated_secret(app, hooked, receiver):
    old = receiver.secret
    assert len(base64.b64decode(old.removeprefix("whsec_"))) >= 24
    assert submit(hooked, f"{HOOKS}/test", {"webhook": str(hook_id(app, receiver.url))}).status_code == 302
    worker.run_pending(app)
    [ping] = receiver.messages()
    assert ping["type"] == "ping" and receiver.requests[0]["problem"] is None

    assert submit(hooked, f"{HOOKS}/secret").status_code == 302
    new = shown_secret(hooked)
    assert new != old and new.startswith("whsec_")
    submit(hooked, f"{HOOKS}/test", {"webhook": str(hook_id(app, receiver.url))})
    worker.run_pending(app)
    second = receiver.requests[1]
    assert second["problem"] == "no signature matches"  # the receiver still holds the old secret
    assert verify(new, second["headers"], second["body"]) is None
    rows = audit_rows(app)
    assert [r[0] for r in rows if r[0].startswith("webhook.")] == ["webhook.add", "webhook.test",
                                                                   "webhook.secret_rotate", "webhook.test"]
    assert not any(old in repr(r) or new in repr(r) for r in rows)  # no secret in the log


def test_an_owner_sets_up_webhooks(app, admin, receiver):
    link = invitation_link(admin, "blog", role="owner")
    owner = accept_invitation(app, link, "owner@example.com", name="Owner")
    page = owner.get("/dashboard/sites/blog")
    assert f'href="{HOOKS}"' in page.get_data(as_text=True)
    assert add_hook(owner, receiver.url).status_code == 302
    assert receiver.url in owner.get(HOOKS).get_data(as_text=True)
    action, actor, _, _, after = audit_rows(app)[-1]
    assert (action, actor, after) == ("webhook.add", "Owner", {"url": receiver.url, "events": EVENTS})


# Refused targets ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("url,message", [
    ("http://127.0.0.1:{port}/", "private, loopback or reserved"),
    ("http://127.1:{port}/", "private, loopback or reserved"),
    ("http://localhost/", "is this machine"),
    ("http://[::1]/", "private, loopback or reserved"),
    ("http://[::ffff:127.0.0.1]/", "private, loopback or reserved"),
    ("http://169.254.169.254/latest/meta-data/", "private, loopback or reserved"),
    ("http://10.1.2.3/", "private, loopback or reserved"),
    ("http://127.0.0.1.:{port}/", "127.0.0.1. is an IP address written with a trailing dot"),
    ("http://127.1./", "127.1. is an IP address written with a trailing dot"),
    ("http://0x7f000001./", "0x7f000001. is an IP address written with a trailing dot"),
    ("http://2130706433./", "2130706433. is an IP address written with a trailing dot"),
])
def test_private_targets_are_refused_by_the_form(app, admin, receiver, url, message):
    app.config["ALLOW_PRIVATE_TARGETS"] = False
    before = row_counts(app)
    response = add_hook(admin, url.format(port=receiver.port))
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert message in text and "events are not sent there" in text and 'aria-invalid="true"' in text
    assert row_counts(app) == before


@pytest.fixture
def rebinding(monkeypatch):
    """DNS as an attacker runs it: hooks.example.net answers with loopback (everything else resolves as usual)."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host == "hooks.example.net":
            return real("127.0.0.1", port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_a_name_that_resolves_to_loopback_is_refused_when_sending(app, admin, receiver, post, rebinding):
    app.config["ALLOW_PRIVATE_TARGETS"] = False
    url = f"http://hooks.example.net:{receiver.port}/hooks/parley"
    assert add_hook(admin, url).status_code == 302  # a name passes the form: it is resolved when sending
    post()
    worker.run_pending(app)
    assert receiver.requests == []
    [job] = jobs(app)
    assert job["status"] == "failed" and job["attempts"] == 1
    assert job["result"] == "hooks.example.net resolves to 127.0.0.1, a private, loopback or reserved address"
    assert job["result"] in admin.get(HOOKS).get_data(as_text=True)


def test_an_intranet_install_may_send_to_private_names(app, admin, receiver, post, rebinding):
    # With private targets allowed, the same name reaches the checked address, with its own Host header.
    url = f"http://hooks.example.net:{receiver.port}/hooks/parley"
    assert add_hook(admin, url).status_code == 302
    receiver.secret = shown_secret(admin)
    post()
    worker.run_pending(app)
    [delivery] = receiver.requests
    assert delivery["headers"]["host"] == f"hooks.example.net:{receiver.port}" and delivery["problem"] is None


# Who may set them up, and bad input ----------------------------------------------------------------------

@pytest.fixture
def people(app, admin, runner, receiver):
    """A webhook on blog; blog's moderator; and the owner of another site."""
    assert add_hook(admin, receiver.url).status_code == 302
    moderator = accept_invitation(app, invitation_link(admin, "blog"), "mod@example.com")
    runner.invoke(args=["site", "add", "other", "--name", "Other", "--origin", "https://other.example.net"])
    other_owner = accept_invitation(app, invitation_link(admin, "other", role="owner"), "owner-other@example.com",
                                    name="Other Owner")
    return moderator, other_owner


def _attempts(receiver, hook):
    yield "get", HOOKS, None
    yield "post", HOOKS, {"url": "https://evil.example/hook", "events": EVENTS}
    yield "post", f"{HOOKS}/remove", {"webhook": str(hook)}
    yield "post", f"{HOOKS}/test", {"webhook": str(hook)}
    yield "post", f"{HOOKS}/secret", {}


def test_a_moderator_cannot_see_or_change_webhooks(app, admin, receiver, people):
    moderator, _ = people
    secret = shown_secret(admin)
    before, audit_before = row_counts(app), audit_rows(app)
    for method, path, data in _attempts(receiver, hook_id(app, receiver.url)):
        response = moderator.get(path) if method == "get" else submit(moderator, path, data)
        assert response.status_code == 403, (method, path, response.status_code)
        assert secret not in response.get_data(as_text=True) and receiver.url not in response.get_data(as_text=True)
    assert 'href="/dashboard/sites/blog/webhooks"' not in moderator.get("/dashboard/sites/blog").get_data(as_text=True)
    assert (row_counts(app), audit_rows(app)) == (before, audit_before)
    assert shown_secret(admin) == secret


def test_an_owner_of_another_site_cannot_touch_these_webhooks(app, admin, receiver, people):
    _, other_owner = people
    hook = hook_id(app, receiver.url)
    secret = shown_secret(admin)
    before = row_counts(app)
    for method, path, data in _attempts(receiver, hook):
        response = other_owner.get(path) if method == "get" else submit(other_owner, path, data)
        assert response.status_code == 404, (method, path, response.status_code)
    # Nor through their own site, by naming this site's webhook.
    for action in ("remove", "test"):
        response = submit(other_owner, f"/dashboard/sites/other/webhooks/{action}", {"webhook": str(hook)})
        assert response.status_code == 404
    assert row_counts(app) == before and shown_secret(admin) == secret


def test_posts_without_the_csrf_token_are_refused(app, admin, receiver):
    assert add_hook(admin, receiver.url).status_code == 302
    hook = hook_id(app, receiver.url)
    secret = shown_secret(admin)
    before = row_counts(app)
    for path, data in [(HOOKS, {"url": "https://evil.example/", "events": EVENTS}),
                       (f"{HOOKS}/remove", {"webhook": str(hook)}), (f"{HOOKS}/test", {"webhook": str(hook)}),
                       (f"{HOOKS}/secret", {})]:
        response = admin.post(path, data=data)
        assert response.status_code == 400 and "Form expired" in response.get_data(as_text=True)
    assert row_counts(app) == before and shown_secret(admin) == secret


@pytest.mark.parametrize("form,message", [
    ({"url": "javascript:alert(1)", "events": EVENTS}, "not an http or https URL"),
    ({"url": "ftp://files.example.com/", "events": EVENTS}, "not an http or https URL"),
    ({"url": "https://user:secret@hooks.example.com/", "events": EVENTS}, "no user name or password"),
    ({"url": "https://hooks.example.com/" + "a" * 5000, "events": EVENTS}, "5026 characters long; at most 2048"),
    ({"url": "", "events": EVENTS}, "give the URL"),
    ({"url": "https://hooks.example.com/", "events": []}, "choose at least one event"),
    ({"url": "https://hooks.example.com/", "events": ["comment.created", "comment.liked"]},
     "unknown event &#39;comment.liked&#39;"),
])
def test_bad_webhook_input_is_said_and_nothing_is_stored(app, admin, form, message):
    before = row_counts(app)
    response = submit(admin, HOOKS, form)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert row_counts(app) == before


def test_a_url_is_added_once_and_a_site_has_at_most_twenty(app, admin):
    for n in range(20):
        assert add_hook(admin, f"https://hooks.example.com/{n}").status_code == 302
    again = add_hook(admin, "https://hooks.example.com/3")
    assert again.status_code == 400 and "has a webhook already" in again.get_data(as_text=True)
    too_many = add_hook(admin, "https://hooks.example.com/20")
    assert too_many.status_code == 400 and "at most 20 webhooks" in too_many.get_data(as_text=True)


# The outbound checks themselves -----------------------------------------------------------------------

@pytest.mark.parametrize("address", [
    "10.0.0.1", "172.16.5.4", "192.168.1.1", "127.0.0.1", "127.8.8.8", "169.254.169.254", "100.64.0.1", "0.0.0.0",
    "224.0.0.1", "255.255.255.255", "::1", "::", "fc00::1", "fd12:3456::1", "fe80::1", "fec0::1", "ff02::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::127.0.0.1", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "2002:7f00:1::1",
])
def test_private_loopback_and_reserved_addresses_are_not_public(address):
    assert not outbound.is_public(address)


@pytest.mark.parametrize("address", ["1.1.1.1", "8.8.8.8", "2606:4700::1111", "::ffff:1.1.1.1", "64:ff9b::101:101"])
def test_public_addresses_are_public(address):
    assert outbound.is_public(address)


def test_every_address_of_a_name_is_checked(monkeypatch):
    def getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("1.1.1.1", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(outbound.Refused, match="10.0.0.7"):
        outbound.resolve("https://mixed.example.com/")
    assert outbound.resolve("https://mixed.example.com/", allow_private=True) == "1.1.1.1"


def test_localhost_is_refused_after_resolving():
    with pytest.raises(outbound.Refused, match="resolves to"):
        outbound.request("POST", "http://localhost:9/", content=b"{}")


def test_a_trickling_answer_is_cut_off_at_the_timeout():
    class Trickle(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            try:
                for _ in range(100):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.1)  # each byte well within the read timeout
            except OSError:
                pass

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    serve_in_background(server)
    try:
        started = time.monotonic()
        with pytest.raises(outbound.Unreachable, match="timed out"):
            outbound.request("GET", f"http://127.0.0.1:{server.server_address[1]}/", allow_private=True, timeout=0.5)
        assert time.monotonic() - started < 2
    finally:
        server.shutdown()
        server.server_close()


def test_a_long_answer_may_be_cut_instead_of_refused():
    class Long(BaseHTTPRequestHandler):
        def do_POST(self):
            self.send_response(200)
            self.send_header("Content-Length", str(100_000))
            self.end_headers()
            self.wfile.write(b"y" * 100_000)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Long)
    serve_in_background(server)
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        with pytest.raises(outbound.Unreachable, match="larger than"):
            outbound.request("POST", url, allow_private=True, max_bytes=1000)
        answer = outbound.request("POST", url, allow_private=True, max_bytes=1000, cut=True)
        assert (answer.status, answer.body) == (200, b"y" * 1000)
    finally:
        server.shutdown()
        server.server_close()


def test_an_ipv6_target_gets_a_bracketed_host_header():
    class V6Server(ThreadingHTTPServer):
        address_family = socket.AF_INET6

    seen = []

    class Echo(BaseHTTPRequestHandler):
        def do_POST(self):
            seen.append(self.headers["Host"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    try:
        server = V6Server(("::1", 0), Echo)
    except OSError:
        pytest.skip("this machine has no IPv6 loopback")
    serve_in_background(server)
    port = server.server_address[1]
    try:
        answer = outbound.request("POST", f"http://[::1]:{port}/", allow_private=True, content=b"{}")
        assert answer.status == 204 and seen == [f"[::1]:{port}"]
    finally:
        server.shutdown()
        server.server_close()
