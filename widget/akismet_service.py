"""Akismet, through the `akismet` client: check a new comment, and report a moderator's overrule.

A site turns it on with its own key (the akismet_key setting). A check that fails or is slow
never publishes the comment as clean: the pipeline holds it for a moderator instead.
"""
import logging
from dataclasses import dataclass

import akismet
import httpx

log = logging.getLogger(__name__)
# Akismet answers in well under a second; a comment form must not wait on it for long.
TIMEOUT_SECONDS = 2.0
SPAM, HAM, UNCHECKED = "spam", "ham", "unchecked"


@dataclass(frozen=True)
class Comment:
    """What Akismet is told of a comment, in its own argument names (akismet.com/developers)."""

    blog: str  # the site's address
    user_ip: str
    user_agent: str | None
    referrer: str | None
    permalink: str | None
    comment_author: str | None
    comment_author_email: str | None
    comment_author_url: str | None
    comment_content: str

    def arguments(self):
        given = {k: v for k, v in self.__dict__.items() if v and k not in ("blog", "user_ip")}
        return given | {"comment_type": "comment"}


class _Endpoint(httpx.BaseTransport):
    """Sends the client's requests to another Akismet-speaking server (PARLEY_AKISMET_ENDPOINT)."""

    def __init__(self, endpoint):
        self.target = httpx.URL(endpoint)
        self.transport = httpx.HTTPTransport()

    def handle_request(self, request):
        request.url = request.url.copy_with(scheme=self.target.scheme, host=self.target.host,
                                            port=self.target.port)
        return self.transport.handle_request(request)

    def close(self):
        self.transport.close()


def _client(key, blog, endpoint):
    http = httpx.Client(headers={"User-Agent": akismet.USER_AGENT}, timeout=TIMEOUT_SECONDS,
                        transport=_Endpoint(endpoint) if endpoint else None)
    return akismet.SyncClient(config=akismet.Config(key=key, url=blog), http_client=http)


def check(key, comment, endpoint=None):
    """SPAM or HAM as Akismet judges the comment, or UNCHECKED when it could not be asked."""
    try:
        with _client(key, comment.blog, endpoint) as client:
            verdict = client.comment_check(comment.user_ip, **comment.arguments())
    except (akismet.AkismetError, httpx.HTTPError) as error:
        log.warning("Akismet check failed for %s: %s", comment.blog, error)
        return UNCHECKED
    return SPAM if verdict else HAM


def report_overrule(key, sent, was, action, endpoint=None):
    """Report a moderator's decision that overrules how the comment was filed: approving spam, or
    marking spam what was not. `sent` is what Akismet was told when it checked the comment."""
    if not key or not sent:
        return None
    if action == "approve" and was == "spam":
        return report(key, Comment(**sent), False, endpoint)
    if action == "spam" and was != "spam":
        return report(key, Comment(**sent), True, endpoint)
    return None


def report(key, comment, is_spam, endpoint=None):
    """Tell Akismet a moderator overruled it (submit-spam or submit-ham); True when it took the report."""
    try:
        with _client(key, comment.blog, endpoint) as client:
            submit = client.submit_spam if is_spam else client.submit_ham
            return submit(comment.user_ip, **comment.arguments())
    except (akismet.AkismetError, httpx.HTTPError) as error:
        log.warning("Akismet report failed for %s: %s", comment.blog, error)
        return False
