"""/demo: a sample blog that embeds the widget exactly as a site owner would, on a fresh install."""
from flask import current_app, render_template
from werkzeug.exceptions import NotFound

from .. import sites
from ..database import writes
from ..errors import Conflict
from ..extensions import db
from ..models import Site
from ..web.headers import DEMO_POLICY, secure_html
from ..web.public_url import own_origin, public_url_for
from . import bp
from .views import error_page

DEMO_SITE = "demo"
# The demo is open to anyone who finds a fresh install: fewer comments per address than a real site (30 an
# hour), yet enough for a newcomer to try, twice and with a slip or two, all the demo invites them to: a
# comment, a reply, an edit and a deletion here, and a comment on the second post (three comments a round).
DEMO_LIMITS = {"comments_per_hour": 12, "max_links": 2}
POSTS = {
    "hello-world": {
        "title": "Hello, world: comments that load in a blink",
        "date": "March 4, 2025",
        "paragraphs": [
            "This is a sample post on a sample blog. Scroll down: the comment section below is not part "
            "of this page's HTML. It is the Parley widget, added by two lines that any site can paste.",
            "Everything in it is live. Post a comment as a guest, reply to it, like it, then edit or delete it "
            "within the edit window. Switch the sort order, or open this page in another language by setting "
            "data-parley-lang.",
            "The widget runs in an iframe served by the comment server, so your site's styles cannot break it "
            "and its scripts cannot read a reader's tokens. It reports its height to this page, which grows it "
            "to fit: there is never a scrollbar inside the comments.",
        ],
    },
    "second-post": {
        "title": "A second post, with its own thread",
        "date": "March 11, 2025",
        "paragraphs": [
            "Each page gets its own thread, keyed by its address. The sidebar's comment counts are filled in "
            "by the same script with one request for all of them.",
            "Leave a comment here and watch the count next to this post change on the other pages.",
        ],
    },
    "themes-and-languages": {
        "title": "Dark mode, accents and four languages",
        "date": "March 18, 2025",
        "paragraphs": [
            "This page embeds the widget with data-parley-theme=\"auto\", so it follows your system's light or "
            "dark setting, and with an accent colour set through the --parley-accent custom property in this "
            "blog's own stylesheet.",
        ],
        "theme": "auto",
    },
}
FIRST_POST = "hello-world"


def ensure_demo_site():
    """The demo site, made on first visit when the server has no sites at all; None on a configured server."""
    site = db.session.scalar(db.select(Site).where(Site.public_id == DEMO_SITE))
    if site is not None:
        return site
    if db.session.scalar(db.select(Site.id).limit(1)) is not None:
        return None  # a real install: never add a site its owner did not ask for
    try:
        return sites.create_site(DEMO_SITE, "Parley demo", [own_origin()], defaults=DEMO_LIMITS)
    except Conflict:
        db.session.rollback()  # a concurrent first visit made it
        return sites.get_site(DEMO_SITE)


@bp.get("/demo", defaults={"slug": FIRST_POST})
@bp.get("/demo/<slug>")
@writes  # the first visit to a fresh install makes the demo site
def demo(slug):
    if not current_app.config["DEMO"] or slug not in POSTS:
        raise NotFound()
    if ensure_demo_site() is None:
        return error_page(404, "refused.demo", title_key="refused.demo_title")
    links = [{"slug": s, "title": p["title"], "url": _post_url(s)} for s, p in POSTS.items()]
    body = render_template("demo/post.html", post=POSTS[slug], slug=slug, links=links, site_id=DEMO_SITE,
                           loader_url=public_url_for("embed.loader"))
    return secure_html(current_app.response_class(body), DEMO_POLICY)


def _post_url(slug):
    return public_url_for("embed.demo", slug=slug)
