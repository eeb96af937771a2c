"""The front door: `/` says what this server is and where to go, and /favicon.ico. Nothing about its sites."""
from flask import Blueprint, current_app, render_template, request, url_for

from .web.headers import HOME_POLICY, secure_html
from .web.public_url import public_url_for

bp = Blueprint("home", __name__)
DAY = 86_400


@bp.get("/")
def index():
    body = render_template("home/index.html", dashboard_url=url_for("dashboard.home"),
                           api_document_url=url_for("api.openapi"), loader_url=public_url_for("embed.loader"))
    response = secure_html(current_app.response_class(body), HOME_POLICY)
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response


@bp.get("/favicon.ico")
def favicon():
    # Its URL is fixed (browsers ask for it by name), so it is cached for a day, not for ever.
    response = current_app.send_static_file("favicon.ico")
    response.headers["Cache-Control"] = f"public, max-age={DAY}"
    return response.make_conditional(request)
