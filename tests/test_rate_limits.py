"""Rate limits: floods from one address are refused with 429 and Retry-After, in words; nothing accepted is lost."""
import socket
import uuid

import pytest
from conftest import GUEST, ORIGIN, PAGE, REDIS_URL, require_redis
from dashboard_helpers import PASSWORD, create_admin, csrf_token

from widget.extensions import db
from widget.models import Comment

HEADERS = {"Origin": ORIGIN}


@pytest.fixture
def limited(make_app):
    """An app with the server's default limits on, as a fresh install runs."""
    def make(**overrides):
        app = make_app(RATELIMIT_ENABLED=True, **overrides)
        result = app.test_cli_runner().invoke(args=["site", "add", "blog", "--name", "Blog", "--origin", ORIGIN])
        assert result.exit_code in (0, 1), result.output  # the second app on one database finds it made
        return app
    return make


def post(client, body="Hello", **headers):
    payload = {"site": "blog", "url": PAGE, "body": body, "author": GUEST}
    return client.post("/api/v1/comments", json=payload, headers=HEADERS | headers)


def assert_limited(response, counted):
    assert response.status_code == 429
    error = response.get_json()["error"]
    assert error["code"] == "rate_limited"  # the widget shows its own words for this code
    assert f"too many {counted}" in error["message"] and "try again in" in error["message"]
    assert int(response.headers["Retry-After"]) > 0


def stored_bodies(app):
    with app.app_context():
        return set(db.session.scalars(db.select(Comment.body)))


def test_posting_is_limited_per_address_and_says_when_to_try_again(limited):
    app = limited(RATELIMIT_COMMENTS="3 per minute")
    client = app.test_client()
    assert [post(client, f"Comment {n}").status_code for n in range(3)] == [201, 201, 201]
    assert_limited(post(client, "One too many"), "comments")
    # Another reader token from the same address changes nothing: the address is counted too.
    assert_limited(post(client, "Still too many", **{"X-Reader-Token": "forged"}), "comments")
    assert stored_bodies(app) == {"Comment 0", "Comment 1", "Comment 2"}


def test_an_ipv6_client_is_counted_by_its_64_block_not_by_each_address_in_it(limited):
    # A client holds a whole /64 and can take a fresh address from it for every request.
    app = limited(RATELIMIT_COMMENTS="3 per minute")
    client = app.test_client()

    def post_from(address, body):
        return client.post("/api/v1/comments", json={"site": "blog", "url": PAGE, "body": body, "author": GUEST},
                           headers=HEADERS, environ_base={"REMOTE_ADDR": address})

    answers = [post_from(f"2001:db8:1:2::{n:x}", f"Rotated {n}").status_code for n in range(1, 4)]
    assert answers == [201, 201, 201]
    assert_limited(post_from("2001:db8:1:2:ffff:ffff:ffff:fffe", "Another address, same block"), "comments")
    assert post_from("2001:db8:1:3::1", "The next block is someone else").status_code == 201
    # An IPv4 reader reaching an IPv6 socket is counted as the IPv4 address it is.
    assert [post_from(address, f"From {address}").status_code
            for address in ("192.0.2.7", "::ffff:192.0.2.7", "192.0.2.7")] == [201, 201, 201]
    assert_limited(post_from("::ffff:192.0.2.7", "Fourth from it"), "comments")


def test_an_ipv6_customer_rotating_its_64s_meets_the_looser_limits_of_its_56_and_48(limited):
    # A /48 customer holds 65,536 /64s, a /56 one 256: one bucket each would be no limit at all.
    app = limited(RATELIMIT_COMMENTS="2 per minute", RATELIMIT_NEW_READERS="2 per minute")
    client = app.test_client()

    def post_from(address, body):
        return client.post("/api/v1/comments", json={"site": "blog", "url": PAGE, "body": body, "author": GUEST},
                           headers=HEADERS, environ_base={"REMOTE_ADDR": address})

    # One comment from each of 20 /64s of one /56: the /56 takes twice a /64's limit.
    in_one_56 = [post_from(f"2001:db8:1:1{n:02x}::1", f"From /64 number {n}").status_code for n in range(20)]
    assert in_one_56.count(201) == 4 and set(in_one_56) == {201, 429}
    # Other /56s of the same /48: the /48 takes four times a /64's limit, all its /56s together.
    in_one_48 = [post_from(f"2001:db8:1:{n + 2:x}00::1", f"From /56 number {n}").status_code for n in range(20)]
    assert in_one_48.count(201) == 4 and set(in_one_48) == {201, 429}
    assert_limited(post_from("2001:db8:1:ff00::1", "Yet another /56"), "comments")
    # The next /48 is another customer; IPv4 readers have no wider block.
    assert post_from("2001:db8:2::1", "Someone else").status_code == 201
    assert [post_from(f"192.0.2.{n}", f"IPv4 {n}").status_code for n in range(1, 11)] == [201] * 10

    # New anonymous readers (likes without a token) are counted the same way: here from 40 /56s of one /48.
    with app.app_context():
        target = db.session.scalar(db.select(Comment.id).order_by(Comment.id))
    likes = [client.post(f"/api/v1/comments/{target}/like", headers=HEADERS,
                         environ_base={"REMOTE_ADDR": f"2001:db8:3:{n + 1:x}00::1"}).status_code for n in range(40)]
    assert likes.count(200) == 8 and set(likes) == {200, 429}


def test_form_tokens_are_limited_per_address_and_per_ipv6_block_but_never_a_reader(limited):
    # Each token lets one comment past the check for scripts, and anyone may ask: a script minting them by the
    # thousand from one address, or from a /48's 65,536 /64s, meets the limit; a reader on many pages does not.
    reader = limited().test_client()
    assert {form_token(reader, "192.0.2.1").status_code for _ in range(50)} == {200}  # fifty pages in a minute
    app = limited(RATELIMIT_FORM_TOKENS="3 per minute")
    client = app.test_client()
    assert [form_token(client, "192.0.2.7").status_code for _ in range(3)] == [200, 200, 200]
    assert_limited(form_token(client, "192.0.2.7"), "form tokens")
    assert form_token(client, "192.0.2.8").status_code == 200  # another address is another reader
    # One /56 gets twice a /64's tokens, one /48 four times, however its addresses rotate.
    assert [form_token(client, f"2001:db8:7:{n:x}::1").status_code for n in range(6)] == [200] * 6
    assert_limited(form_token(client, "2001:db8:7:6::1"), "form tokens")
    assert [form_token(client, f"2001:db8:9:{n:x}00::1").status_code for n in range(12)] == [200] * 12
    assert_limited(form_token(client, "2001:db8:9:c00::1"), "form tokens")


def form_token(client, address):
    return client.get("/api/v1/form-token", query_string={"site": "blog"}, environ_base={"REMOTE_ADDR": address})


def test_dashboard_password_guesses_from_rotating_64s_are_counted_per_56_and_48(limited):
    app = limited(RATELIMIT_LOGINS="1000 per minute", LOGIN_FAILURES_PER_ADDRESS=3, LOGIN_FAILURES_PER_ACCOUNT=1000)
    create_admin(app.test_cli_runner())

    def guess_from(address, n):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        return client.post("/dashboard/login", data={"email": f"guess{n}@example.com", "password": "wrong password",
                                                      "csrf_token": csrf_token(client)}).status_code

    # Three failures allowed per /64, six per /56, twelve per /48.
    answers = [guess_from(f"2001:db8:1:1{n:02x}::1", n) for n in range(10)]
    assert answers == [403] * 6 + [429] * 4
    answers = [guess_from(f"2001:db8:1:{n + 2:x}00::1", n) for n in range(10)]
    assert answers == [403] * 6 + [429] * 4
    assert guess_from("2001:db8:2::1", 99) == 403  # another customer


def test_a_flood_of_posts_and_likes_from_one_address_is_held_back_and_loses_nothing_accepted(limited):
    app = limited()  # the server's defaults
    client = app.test_client()
    accepted = set()
    statuses = []
    for n in range(500):
        response = post(client, f"Flood {n}")
        statuses.append(response.status_code)
        if response.status_code == 201:
            accepted.add(f"Flood {n}")
    assert set(statuses) == {201, 429}
    assert 1 <= len(accepted) <= 5  # "5 per minute"
    assert stored_bodies(app) == accepted  # every 201 is stored; nothing refused was

    with app.app_context():
        target = db.session.scalar(db.select(Comment.id).order_by(Comment.id))
    # No reader token: each like asks for a new anonymous identity, which is what is limited.
    likes = [client.post(f"/api/v1/comments/{target}/like", headers=HEADERS).status_code for _ in range(500)]
    assert set(likes) == {200, 429}
    with app.app_context():
        assert db.session.get(Comment, target).likes <= 10, db.session.get(Comment, target).likes


def test_one_reader_token_likes_once_however_often_it_asks(limited):
    app = limited()
    client = app.test_client()
    comment = post(client).get_json()
    token = comment["reader_token"]
    for _ in range(20):
        client.post(f"/api/v1/comments/{comment['comment']['id']}/like", headers=HEADERS | {"X-Reader-Token": token})
    with app.app_context():
        assert db.session.get(Comment, comment["comment"]["id"]).likes == 1


def test_a_site_can_tighten_its_own_limit(limited):
    app = limited()
    assert app.test_cli_runner().invoke(args=["site", "set", "blog", "comments_per_hour", "2"]).exit_code == 0
    client = app.test_client()
    assert [post(client, f"Comment {n}").status_code for n in range(2)] == [201, 201]
    assert_limited(post(client, "Third"), "comments")


def test_dashboard_password_attempts_are_limited_per_address(limited):
    app = limited(RATELIMIT_LOGINS="3 per minute", LOGIN_FAILURES_PER_ADDRESS=1000, LOGIN_FAILURES_PER_ACCOUNT=1000)
    create_admin(app.test_cli_runner())
    client = app.test_client()
    token = csrf_token(client)
    for _ in range(3):
        response = client.post("/dashboard/login", data={"email": "admin@example.com", "password": "wrong password",
                                                          "csrf_token": token})
        assert response.status_code == 403
    assert client.get("/dashboard/login").status_code == 200  # reading the page is not an attempt
    response = client.post("/dashboard/login", data={"email": "admin@example.com", "password": PASSWORD,
                                                      "csrf_token": token})
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    assert "Too many login attempts" in response.get_data(as_text=True)


def test_the_demo_on_a_fresh_install_takes_few_comments(limited):
    app = limited()
    client = app.test_client()
    with app.app_context():
        db.session.execute(db.delete(db.metadata.tables["sites"]))
        db.session.commit()
    assert client.get("/demo").status_code == 200
    payload = {"site": "demo", "url": "http://comments.test/demo/hello-world", "body": "hi", "author": GUEST}
    statuses = [client.post("/api/v1/comments", json=payload | {"body": f"hi {n}"},
                            headers={"Origin": "http://comments.test"}).status_code for n in range(6)]
    assert statuses == [201] * 5 + [429]



def test_two_servers_share_one_limit_through_redis(limited):
    require_redis()
    shared = {"REDIS_URL": REDIS_URL, "RATELIMIT_KEY_PREFIX": f"parley-test-{uuid.uuid4().hex}",
              "RATELIMIT_COMMENTS": "3 per minute"}
    first, second = limited(**shared).test_client(), limited(**shared).test_client()
    assert [post(first, "one").status_code, post(second, "two").status_code, post(first, "three").status_code] \
        == [201, 201, 201]
    assert_limited(post(second, "four"), "comments")


def test_a_redis_that_is_down_does_not_take_the_comment_form_with_it(limited):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    app = limited(REDIS_URL=f"redis://127.0.0.1:{closed_port}/0")
    assert post(app.test_client()).status_code == 201
