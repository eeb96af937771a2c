"""The one HTML error page (templates/errors/page.html), and the errors no blueprint answers."""
from flask import current_app, request, url_for
from flask_limiter import RateLimitExceeded
from sqlalchemy import exc as sqlalchemy_exc
from werkzeug.exceptions import HTTPException

from .. import i18n
from ..errors import error_json, http_error_code
from ..logs import current_request_id
from . import rate_limits
from .headers import ERROR_POLICY, secure_html

# What a 503 tells clients to wait before asking again while the database is unreachable.
RETRY_AFTER_SECONDS = 5


def error_page(status, title, message, *, lang="en", stylesheet=None, back=None, closes_popup=False):
    """The error page of every HTML surface; `back` is {"url", "label"} for a way onwards. A 5xx names
    the request's id, which the log has too, so that a reader's report leads to its traceback."""
    # Rendered without the app's context processors, which may look up the logged-in user: this
    # page also says that the database cannot be reached, and must not need it.
    template = current_app.jinja_env.get_template("errors/page.html")
    body = template.render(
        status=status, title=title, message=message, lang=lang, dir=i18n.direction(lang), back=back,
        reference=i18n.translate(lang, "refused.request_id", id=current_request_id()) if status >= 500 else None,
        stylesheet=stylesheet or url_for("static", filename="widget/error.css"),
        popup_script=url_for("static", filename="auth/popup.js") if closes_popup else None,
    )
    return secure_html(current_app.response_class(body, status=status), ERROR_POLICY)


def translated_error_page(status, key, title_key, stylesheet=None, **values):
    """The error page in the reader's language (?lang= or Accept-Language), from catalogue keys."""
    lang = i18n.negotiate(request.args.get("lang"), request.accept_languages)
    return error_page(status, i18n.translate(lang, title_key), i18n.translate(lang, key, **values), lang=lang,
                      stylesheet=stylesheet)


def _wants_json():
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _server_error_json(status, code, message):
    """A 5xx as JSON: the message ends with the request's id, which the log line has too."""
    return error_json(status, code, f"{message} (request id {current_request_id()})")


def http_error(error):
    """HTTP errors as JSON under /api and as the error page elsewhere (unmatched URLs reach no blueprint)."""
    if not error.code or error.code < 400:
        return error
    if isinstance(error, RateLimitExceeded):
        return rate_limited(error)
    if error.code >= 500:
        current_app.logger.error("%s on %s %s", error.code, request.method, request.path, exc_info=error)
    if request.path.startswith("/api/"):
        make_json = _server_error_json if error.code >= 500 else error_json
        response = make_json(error.code, http_error_code(error), error.description or error.name)
    elif error.code == 404:
        response = translated_error_page(404, "refused.not_found", "refused.not_found_title")
    else:
        response = error_page(error.code, error.name, error.description or error.name)
    if error.code == 405 and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def rate_limited(error):
    """429 in words (JSON, or the page), with Retry-After: the widget keeps the reader's text and says why."""
    seconds = rate_limits.retry_after()
    message = rate_limits.describe(error, seconds)
    if _wants_json():
        response = error_json(429, "rate_limited", message)
    else:
        response = error_page(429, "Too many requests", message[:1].upper() + message[1:] + ".")
    response.headers["Retry-After"] = str(seconds)
    return response


def database_unavailable(error):
    """The database went away (or is locked past the busy timeout): nothing was stored, and asking
    again shortly works, so say that rather than "internal error". Recovery needs no restart: the
    pool checks each connection before use."""
    current_app.logger.error("database unavailable on %s %s", request.method, request.path, exc_info=error)
    if _wants_json():
        response = _server_error_json(503, "service_unavailable",
                              "the comment server cannot reach its database; try again in a few seconds")
    else:
        response = translated_error_page(503, "unavailable.body", "unavailable.title")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


def unexpected_error(error):
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    if _wants_json():
        return _server_error_json(500, "internal_error", "something went wrong on the server")
    return translated_error_page(500, "refused.internal", "refused.internal_title")


def register(app):
    """Answer, for the whole app, what no blueprint's own handlers answered."""
    app.register_error_handler(HTTPException, http_error)
    for database_error in (sqlalchemy_exc.OperationalError, sqlalchemy_exc.InterfaceError,
                           sqlalchemy_exc.TimeoutError):
        app.register_error_handler(database_error, database_unavailable)
    app.register_error_handler(Exception, unexpected_error)
