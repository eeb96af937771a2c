"""Security headers for the HTML pages this blueprint serves."""

# The iframe page: its own scripts, styles and API only; no inline code of any kind. Images may
# also come over https: the avatars of readers who logged in are their provider's pictures.
WIDGET_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
                 "connect-src 'self'; form-action 'none'; base-uri 'none'")
# A page meant for one origin only (the demo blog post), which may frame the widget from itself.
DEMO_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "connect-src 'self'; frame-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'")
# Error pages: a stylesheet and nothing else, and never inside a frame.
ERROR_POLICY = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"


def frame_ancestors(origins):
    """The origins allowed to frame the widget: this server and the site's listed origins."""
    # Origins were normalised to scheme://host[:port] when stored, so they cannot break the header.
    return "frame-ancestors " + " ".join(["'self'", *origins])

