"""The session cookie: HttpOnly and SameSite=Lax always, Secure whenever the dashboard is served over HTTPS."""
from flask import request
from flask.sessions import SecureCookieSessionInterface


class SessionInterface(SecureCookieSessionInterface):
    def get_cookie_secure(self, app):
        # A proxy may terminate TLS (PARLEY_PUBLIC_URL=https://...) or the request may itself be HTTPS;
        # plain-HTTP development on localhost keeps working without Secure.
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def init_app(app):
    public = str(app.config.get("PUBLIC_URL") or "")
    if public.lower().startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True
    app.session_interface = SessionInterface()
