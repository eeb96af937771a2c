"""Which browser origins may act for a site: its own listed origins, and this server's frames."""
from ..urls import normalise_origin
from .public_url import own_origin


def origin_allowed(site, origin):
    """The widget's own frames (this server's origin) and the site's listed origins."""
    origin = normalise_origin(origin) if origin else None
    return origin is not None and (origin == own_origin() or origin in site.origins)
