"""Absolute URLs of this server, honouring PARLEY_PUBLIC_URL behind a proxy."""
from flask import current_app, request, url_for

from ..urls import origin_of


def own_origin():
    return origin_of(current_app.config["PUBLIC_URL"] or request.host_url)


def public_url_for(endpoint, **values):
    public = current_app.config["PUBLIC_URL"]
    if public:
        return public.rstrip("/") + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)
