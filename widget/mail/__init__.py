"""Pages the links in emails open: confirm an address, unsubscribe (RFC 8058 one-click too), manage
subscriptions, and approve or mark as spam a comment waiting for review.

A link's signed token is its whole authority: no cookie, no login. A GET only shows what the link
will do; the change is a POST, so that mail scanners that open every link change nothing.
"""
from flask import Blueprint, current_app, render_template, request
from sqlalchemy.exc import IntegrityError

from .. import i18n, moderation, notifications
from ..errors import ParleyError
from ..extensions import db
from ..models import parse_id
from ..web.error_pages import error_page
from ..web.headers import secure_html
from ..web.public_url import own_origin

bp = Blueprint("mail", __name__, url_prefix="/mail")

# Pages reached from an email: a stylesheet and forms posting back here; never framed.
MAIL_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
               "base-uri 'none'")


def _page(lang, status=200, **values):
    def t(key, **kwargs):
        return i18n.translate(lang, key, **kwargs)
    body = render_template("mail/page.html", t=t, lang=lang, dir=i18n.direction(lang), **values)
    response = current_app.response_class(body, status=status)
    response.headers["Cache-Control"] = "no-store"
    # The token is in the URL: never let it leak to another site as a Referer.
    return secure_html(response, MAIL_POLICY, referrer="no-referrer")


@bp.errorhandler(ParleyError)
def refused(error):
    lang = i18n.negotiate(None, request.accept_languages)
    key = {"expired_link": "mail.link_expired", "link_used": "mail.link_used"}.get(error.code, "mail.link_invalid")
    response = error_page(error.status if error.status != 400 else 409, i18n.translate(lang, "mail.link_title"),
                          i18n.translate(lang, key), lang=lang)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token):
    if request.method == "GET":
        recipient = notifications.recipient_for_confirm(current_app.secret_key, token)
        return _page(recipient.language, view="confirm", recipient=recipient)
    recipient = notifications.confirm(current_app.secret_key, token)
    return _page(recipient.language, view="confirmed", recipient=recipient,
                 manage_token=notifications.manage_token(current_app.secret_key, recipient))


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token):
    """GET asks; POST stops. A mail client's one-click POST (RFC 8058) sends List-Unsubscribe=One-Click."""
    if request.method == "GET":
        recipient, subscription = notifications.unsubscribe_target(current_app.secret_key, token)
        return _page(recipient.language, view="unsubscribe", recipient=recipient, subscription=subscription)
    recipient = notifications.unsubscribe(current_app.secret_key, token)
    return _page(recipient.language, view="unsubscribed", recipient=recipient,
                 manage_token=notifications.manage_token(current_app.secret_key, recipient))


@bp.route("/subscriptions/<token>", methods=["GET", "POST"])
def manage(token):
    recipient = notifications.recipient_for_manage(current_app.secret_key, token)
    stopped = None
    if request.method == "POST":
        which = request.form.get("subscription", "")
        subscription_id = None if which == "all" else parse_id(which)
        if which != "all" and subscription_id is None:
            return _page(recipient.language, 400, view="manage", recipient=recipient, token=token,
                         subscriptions=notifications.subscriptions_of(recipient), error="mail.choose")
        stopped = notifications.stop(recipient, subscription_id)
    return _page(recipient.language, view="manage", recipient=recipient, token=token, stopped=stopped,
                 subscriptions=notifications.subscriptions_of(recipient))


@bp.route("/moderate/<token>", methods=["GET", "POST"])
def moderate(token):
    comment, action, actor, nonce = notifications.moderation_link(current_app.secret_key, token)
    site = comment.thread.site
    if request.method == "GET":
        return _page("en", view="moderate", comment=comment, action=action, site=site, token=token)
    if comment.status != "pending" and not (action == "approve" and comment.status == "spam"):
        return _page("en", 409, view="moderated", comment=comment, action=None, site=site)
    try:
        if not notifications.use_link(nonce):
            return refused(ParleyError("this link was already used", code="link_used"))
        moderation.apply(actor, site, comment, action, base_url=own_origin())
    except IntegrityError:  # a twin request spent the link at the same moment
        db.session.rollback()
        return refused(ParleyError("this link was already used", code="link_used"))
    return _page("en", view="moderated", comment=comment, action=action, site=site)
