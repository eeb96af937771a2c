"""A site's Gravatar pictures in a real browser: they come from the comment server, never from the service."""
import hashlib
import re

import pytest
from avatar_server import AvatarService
from playwright.sync_api import expect

from browser.conftest import _live_widget

pytestmark = pytest.mark.browser


@pytest.fixture
def avatar_service():
    with AvatarService(emails=["ada@example.org"]) as running:
        yield running


@pytest.fixture
def avatar_widget(make_app, avatar_service):
    yield from _live_widget(make_app, ALLOW_PRIVATE_TARGETS=True, GRAVATAR_URL=avatar_service.url)


def test_gravatar_pictures_reach_the_reader_only_through_the_comment_server(avatar_widget, avatar_service, page):
    avatar_widget.site(avatars="gravatar")
    avatar_widget.comment("With a picture.", name="Ada", email="ada@example.org")
    asked = []
    page.on("request", lambda request: asked.append(request.url))
    frame = avatar_widget.open(page)

    avatar = frame.locator("li.comment .avatar").first
    expect(avatar).to_have_attribute("src", re.compile("^" + re.escape(avatar_widget.server.url + "/api/v1/comments/")))
    # Loaded: the service's one-pixel PNG, handed on by the comment server.
    for _ in range(100):
        if avatar.evaluate("img => img.complete"):
            break
        page.wait_for_timeout(50)
    assert avatar.evaluate("img => img.naturalWidth") == 1
    # The server asked the service once; the browser never did, and saw no hash of the email anywhere.
    assert len(avatar_service.requests) == 1 and "Chrome" not in avatar_service.requests[0][1]
    assert not [url for url in asked if url.startswith(avatar_service.url.rsplit("/avatar/", 1)[0])]
    digest = hashlib.md5(b"ada@example.org").hexdigest()
    assert digest not in frame.locator("html").inner_html()
    assert not [url for url in asked if digest in url]
