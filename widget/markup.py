"""Comment bodies: CommonMark to HTML through markdown-it-py, cleaned by the nh3 allow-list."""
from functools import lru_cache
from html import escape

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "p", "br", "hr", "a", "em", "strong", "del", "s", "code", "pre", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}


@lru_cache(maxsize=1)
def _parser():
    # Raw HTML off; images off too: an image would make every reader's browser
    # fetch a URL chosen by the commenter.
    md = MarkdownIt("commonmark", {"html": False, "linkify": True, "typographer": False})
    md.enable(["linkify", "strikethrough"])
    md.disable("image")
    return md


def link_urls(body):
    """The URLs of the links (written or bare) that the body will render, in order."""
    tokens = _parser().parse(body)
    return [str(tok.attrs.get("href", "")) for block in tokens for tok in (block.children or [])
            if tok.type == "link_open"]


def count_links(body):
    """Number of links (written or bare URLs) that the body will render."""
    return len(link_urls(body))


def _clean(html):
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow ugc noopener",
        strip_comments=True,
    ).strip()


def render(body):
    """Safe HTML for a Markdown body."""
    return _clean(_parser().render(body))


def link(url, text):
    """Safe HTML for one paragraph holding one link (a Webmention's source and its title), both as plain text."""
    return _clean(f'<p><a href="{escape(url, quote=True)}">{escape(text, quote=False)}</a></p>')
