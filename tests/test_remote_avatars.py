"""Gravatar or Libravatar, opted into by a site: this server fetches and keeps the pictures, readers see only it."""
import hashlib
import re
import threading
import time

import pytest
from avatar_server import PNG, AvatarService, md5
from conftest import GUEST, ORIGIN, PAGE
from dashboard_helpers import comment_on
from sqlalchemy import create_engine, text

from widget.extensions import db
from widget.models import AvatarImage

KNOWN = "ada@example.org"


@pytest.fixture
def service():
    with AvatarService(emails=[KNOWN]) as running:
        yield running


def serving(make_app, service, avatars="gravatar", **config):
    app = make_app(ALLOW_PRIVATE_TARGETS=True, GRAVATAR_URL=service.url, LIBRAVATAR_URL=service.url, **config)
    runner = app.test_cli_runner()
    runner.invoke(args=["site", "add", "blog", "--name", "Blog", "--origin", ORIGIN])
    assert runner.invoke(args=["site", "set", "blog", "avatars", avatars]).exit_code == 0
    return app, app.test_client()


def avatar_of(client, email=KNOWN):
    comment_on(client, "Hello", author=GUEST | {"email": email})
    page = client.get("/api/v1/threads", query_string={"site": "blog", "url": PAGE})
    return page, page.get_json()["comments"][-1]["author"]["avatar_url"]


def email_digests(email):
    """Every hash of the address a page could give away (Gravatar's MD5, a SHA-256 as Libravatar takes)."""
    found = set()
    for variant in {email, email.lower(), email.strip().lower()}:
        found |= {hashlib.md5(variant.encode()).hexdigest(), hashlib.sha256(variant.encode()).hexdigest()}
    return found


def kept(app):
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(AvatarImage))


@pytest.mark.parametrize("avatars", ["gravatar", "libravatar"])
def test_a_guests_picture_comes_through_this_server_under_a_name_that_hides_the_email(make_app, service, avatars):
    app, client = serving(make_app, service, avatars)
    page, url = avatar_of(client)
    assert re.fullmatch(r"http://comments\.test/api/v1/comments/\d+/avatar\?k=[0-9a-f]{40}", url)
    picture = client.get(url)
    assert picture.status_code == 200 and picture.mimetype == "image/png" and picture.data == PNG
    assert service.requests[0][0] == f"/avatar/{md5(KNOWN)}?s=80&d=404"
    # Kept: the next reader's browser is answered without asking the service again.
    assert client.get(url).data == PNG
    assert len(service.requests) == 1
    # No response says the email's hash: not the thread, not the iframe page, not the picture's headers.
    frame = client.get("/embed/thread", query_string={"site": "blog", "url": PAGE, "origin": ORIGIN})
    for response in (page, frame, picture):
        text = response.get_data(as_text=True) if response is not picture else str(response.headers)
        assert not any(digest in text for digest in email_digests(KNOWN))
    assert url in frame.get_data(as_text=True).replace("&amp;", "&")


def test_an_address_the_service_does_not_know_keeps_its_generated_avatar(make_app, service):
    app, client = serving(make_app, service)
    _, url = avatar_of(client, "nobody@example.org")
    for _ in range(2):
        picture = client.get(url)
        assert picture.status_code == 200 and picture.mimetype == "image/svg+xml"
    assert len(service.requests) == 1  # "none" is kept too


def test_a_service_that_cannot_be_reached_leaves_the_generated_avatar_and_is_asked_again_later(make_app, service):
    app, client = serving(make_app, service)
    _, url = avatar_of(client)
    service.stop()
    picture = client.get(url)
    assert picture.status_code == 200 and picture.mimetype == "image/svg+xml"
    assert kept(app) == 0


def test_kept_pictures_are_bounded_and_expire(make_app, service):
    app, client = serving(make_app, service, AVATAR_CACHE_MAX=2)
    urls = [avatar_of(client, f"reader{n}@example.org")[1] for n in range(3)]
    for url in urls:
        client.get(url)
    assert kept(app) == 2

    app, client = serving(make_app, service, AVATAR_CACHE_SECONDS=0)
    _, url = avatar_of(client)
    before = len(service.requests)
    client.get(url)
    client.get(url)
    assert len(service.requests) == before + 2


def test_a_wrong_key_or_a_site_without_a_service_gets_no_picture(make_app, service):
    app, client = serving(make_app, service)
    _, url = avatar_of(client)
    assert client.get(url[:-4] + "0000").status_code == 404
    assert client.get(url.replace("?k=", "?x=")).status_code == 404
    for odd in ("é", "\u202e" * 50):  # beyond ASCII: still only a wrong key
        wrong = client.get(url.split("?k=")[0] + "?k=" + odd)
        assert (wrong.status_code, wrong.get_json()["error"]["code"]) == (404, "unknown_avatar")
    assert client.get("/api/v1/comments/99999999/avatar?k=x").get_json()["error"]["code"] == "unknown_avatar"
    app.test_cli_runner().invoke(args=["site", "set", "blog", "avatars", "generated"])
    assert client.get(url).status_code == 404
    _, generated = avatar_of(client)
    assert generated.endswith(".svg") and "/api/v1/avatars/" in generated
    assert service.requests == []


def test_a_picture_fetched_while_others_write_is_kept_without_a_database_error(make_app, service):
    """The picture is fetched (up to seconds) between reading what is kept and keeping the new one. Writes
    made meanwhile (comments, likes) must not make keeping it fail: on SQLite a transaction that read
    before them could no longer write."""
    app, client = serving(make_app, service)
    _, url = avatar_of(client)
    service.delay = 1.0
    answers = []
    fetching = threading.Thread(target=lambda: answers.append(client.get(url)))
    fetching.start()
    while not service.requests:  # the server is now waiting for the service's answer
        time.sleep(0.02)
    other = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with other.begin() as connection:  # another writer commits meanwhile
        connection.execute(text("UPDATE sites SET name = 'Blog, renamed'"))
    other.dispose()
    fetching.join(15)
    assert answers[0].status_code == 200 and answers[0].data == PNG
    assert kept(app) == 1
