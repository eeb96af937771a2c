"""The security headers every HTML page of the server sends."""


def secure_html(response, policy, referrer="same-origin"):
    """Set the page's Content-Security-Policy, nosniff and a strict Referrer-Policy."""
    response.headers["Content-Security-Policy"] = policy
    response.headers["X-Content-Type-Options"] = "nosniff"
    # same-origin by default, not no-referrer: with no-referrer the widget's own POSTs would
    # carry "Origin: null" and the API would refuse them as coming from an unknown page.
    response.headers["Referrer-Policy"] = referrer
    return response
