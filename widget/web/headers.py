"""Every security header the server sends on its HTML pages and feeds, and every Content-Security-Policy."""


def widget_policy(stylesheet_hash, origins):
    """The iframe page: its own scripts, styles and API only, framed by the site's origins.

    The one inline code is its stylesheet, written into the page and allowed by its hash
    ("sha256-..."). Images may also come over https: the avatars of readers who logged in are
    their provider's pictures.
    """
    return (f"default-src 'none'; script-src 'self'; style-src 'self' '{stylesheet_hash}'; "
            "img-src 'self' data: https:; connect-src 'self'; form-action 'none'; base-uri 'none'; "
            + frame_ancestors(origins))


# A page meant for one origin only (the demo blog post), which may frame the widget from itself.
DEMO_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "connect-src 'self'; frame-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'")
# The login popup: its one script hands the outcome to the frame that opened it.
POPUP_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                "frame-ancestors 'none'; form-action 'none'; base-uri 'none'")
# The dashboard: own scripts and styles only, no inline code; never framed; forms post back here only.
DASHBOARD_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
# Error pages: a stylesheet and nothing else, and never inside a frame.
ERROR_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
                "frame-ancestors 'none'")

# The front door: a stylesheet and the favicon, never framed.
HOME_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
               "frame-ancestors 'none'")

# Atom feeds: XML for feed readers. A browser that opens one as a document runs and loads nothing.
FEED_POLICY = "default-src 'none'; sandbox; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

def frame_ancestors(origins):
    """The origins allowed to frame the widget: this server and the site's listed origins."""
    # Origins were normalised to scheme://host[:port] when stored, so they cannot break the header.
    return "frame-ancestors " + " ".join(["'self'", *origins])


def secure_html(response, policy, referrer="same-origin"):
    """Set the page's Content-Security-Policy, nosniff and a strict Referrer-Policy."""
    response.headers["Content-Security-Policy"] = policy
    response.headers["X-Content-Type-Options"] = "nosniff"
    # same-origin by default, not no-referrer: with no-referrer the widget's own POSTs would
    # carry "Origin: null" and the API would refuse them as coming from an unknown page.
    response.headers["Referrer-Policy"] = referrer
    return response
