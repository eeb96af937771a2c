"""The endpoint senders post to, and the status address it answers with."""
from flask import current_app, jsonify, request

from .. import webmentions
from ..errors import InvalidInput
from ..sites import get_site
from ..web import inputs
from ..web.public_url import own_origin, public_url_for
from . import bp

# The Recommendation has senders post a form; multipart costs nothing more to read and some tools send it.
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _url_field(name):
    values = request.form.getlist(name)
    if len(values) > 1:
        raise InvalidInput(f"give {name} once", code=f"invalid_{name}")
    return inputs.text(values[0] if values else None, name, webmentions.MAX_URL, required=True)


@bp.get("/<site_id>")
def about(site_id):
    """What this address is, for a person who opens it in a browser."""
    site = get_site(site_id)
    text = (f"This is the Webmention endpoint of {site.name} (https://www.w3.org/TR/webmention/).\n"
            "To say that a page of yours links to one of the site's pages, POST source (your page) and "
            "target (theirs), form-encoded, to this address.\n")
    response = current_app.response_class(text, mimetype="text/plain")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.post("/<site_id>")
def receive(site_id):
    site = get_site(site_id)
    if request.mimetype not in FORM_TYPES:
        raise InvalidInput("send source and target form-encoded (application/x-www-form-urlencoded)",
                           code="not_form_encoded")
    source, target = _url_field("source"), _url_field("target")
    webmentions.check_request(site, source, target, allow_private=current_app.config["ALLOW_PRIVATE_TARGETS"])
    job = webmentions.accept(site, source, target, base_url=own_origin())
    status_url = public_url_for("webmention.status", site_id=site.public_id,
                                token=webmentions.status_token(current_app.secret_key, job))
    # 202 Accepted: the source is checked later, as the Recommendation (3.2) allows an asynchronous
    # receiver. The status address comes along, in Location and the body, for senders that look; the
    # Recommendation would have 201 for that, but senders count any 2xx as accepted, and "Accepted"
    # says truly that nothing is decided yet.
    response = jsonify(webmentions.status_of(job) | {"status_url": status_url})
    response.status_code = 202
    response.headers["Location"] = status_url
    return response


@bp.get("/<site_id>/status/<token>")
def status(site_id, token):
    job = webmentions.job_for_token(current_app.secret_key, get_site(site_id), token)
    response = jsonify(webmentions.status_of(job))
    response.cache_control.no_cache = True
    return response
