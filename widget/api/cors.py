"""Which origins may read and write a site's comments from the browser."""
from flask import g, request

from ..extensions import db
from ..models import Site
from ..urls import normalise_origin
from ..web.origins import origin_allowed
from ..web.public_url import own_origin

ALLOWED_HEADERS = "Content-Type, Authorization, X-Edit-Token, X-Reader-Token, If-None-Match"
ALLOWED_METHODS = "GET, POST, PATCH, DELETE, OPTIONS"


def add_cors_headers(response):
    """After each API request: CORS headers only for an origin the request's site allows."""
    response.vary.add("Origin")
    if request.endpoint == "api.embed_check":
        # Its answer is for pages the site does not allow, too, and carries nothing personal.
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response
    origin = request.headers.get("Origin")
    if not origin:
        return response
    site = g.get("site")
    if request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
        # A preflight names no site; answer for an origin that any site allows.
        normalised = normalise_origin(origin)
        allowed = normalised is not None and (
            normalised == own_origin()
            or any(normalised in origins for origins in db.session.scalars(db.select(Site.origins)))
        )
        if allowed:
            response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
            response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response.headers["Access-Control-Max-Age"] = "600"
        else:
            return response
    elif site is None or not origin_allowed(site, origin):
        return response
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Expose-Headers"] = "ETag"
    return response
