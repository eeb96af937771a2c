"""A real OpenID Connect provider for tests, built on Authlib's authorization server.

It runs on loopback in a thread, enforces PKCE (S256) and nonces, signs ID tokens with
its own RSA key, and can be told to misbehave the ways real providers do.
"""
import functools
import secrets
import time
from dataclasses import dataclass, field

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector, current_token
from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin, grants
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from flask import Flask, jsonify, render_template_string, request
from helpers import serve_in_background
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import make_server

LOGIN_PAGE = """<!doctype html><title>Test provider login</title>
<h1>Log in to the test provider</h1>
<form method="post">
  <label>Subject <input name="sub" value="reader-1"></label>
  <label>Name <input name="name" value="Grace Hopper"></label>
  <button name="action" value="login" id="login">Log in</button>
  <button name="action" value="deny" id="deny">Cancel</button>
</form>"""


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uris: list

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope):
        return " ".join(s for s in (scope or "").split() if s in {"openid", "profile", "email"})

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret):
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        return method in {"client_secret_basic", "client_secret_post"}

    def check_grant_type(self, grant_type):
        return grant_type == "authorization_code"

    def check_response_type(self, response_type):
        return response_type == "code"


@dataclass
class Code(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: dict
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return self.auth_time

    def get_acr(self):
        return None

    def get_amr(self):
        return None


@dataclass
class AccessToken(TokenMixin):
    token: str
    client_id: str
    scope: str
    user: dict
    expires_at: float

    def check_client(self, client):
        return client.get_client_id() == self.client_id

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return int(self.expires_at - time.time())

    def is_expired(self):
        return time.time() > self.expires_at

    def is_revoked(self):
        return False


@functools.lru_cache(maxsize=1)
def _signing_key():
    return RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig", "alg": "RS256"})


class LoopbackProvider:
    """One provider: `issuer`, `client_id`, `client_secret`; `behaviour` switches misbehaviour on."""

    def __init__(self, host="127.0.0.1", opener_policy=False):
        self.client_id = "parley-test-client"
        self.client_secret = secrets.token_urlsafe(16)
        self.redirect_uris = []
        self.opener_policy = opener_policy
        self.broken_token_endpoint = False
        # A reader already logged in at the provider who has consented before: /authorize sends
        # them straight back with a code, no page shown (the victim of a login fixation attack).
        self.remembered_user = None
        # Put only `sub` in the ID token, so the client asks the userinfo endpoint for the rest.
        self.thin_id_token = False
        # Whether the provider says it checked the reader's email (OpenID Connect's email_verified claim).
        self.email_verified = True
        # Claims the userinfo endpoint adds to (or overrides in) its answer, as a hostile provider might.
        self.userinfo_overrides = {}
        self.codes = {}
        self.tokens = {}
        self.nonces = set()
        self.key = _signing_key()
        self.app = self._make_app()
        self._server = make_server(host, 0, self.app, threaded=True)
        self.issuer = f"http://{host}:{self._server.server_port}"

    def __enter__(self):
        self._thread = serve_in_background(self._server)
        return self

    def __exit__(self, *_exc):
        self._server.shutdown()
        self._server.server_close()

    def _make_app(self):
        provider = self
        app = Flask("test_provider")
        app.config["SECRET_KEY"] = "provider"

        class CodeGrant(grants.AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

            def save_authorization_code(self, code, req):
                provider.codes[code] = Code(
                    code=code, client_id=req.client.get_client_id(), redirect_uri=req.payload.redirect_uri,
                    scope=req.payload.scope, user=req.user, nonce=req.payload.data.get("nonce"),
                    code_challenge=req.payload.data.get("code_challenge"),
                    code_challenge_method=req.payload.data.get("code_challenge_method"),
                )

            def query_authorization_code(self, code, client):
                found = provider.codes.get(code)
                return found if found and found.client_id == client.get_client_id() else None

            def delete_authorization_code(self, authorization_code):
                provider.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code):
                return authorization_code.user

        class IDToken(OpenIDCode):
            def exists_nonce(self, nonce, req):
                return nonce in provider.nonces

            def resolve_client_private_key(self, client):
                return KeySet([provider.key])

            def get_client_claims(self, client):
                return {"iss": provider.issuer, "aud": [client.get_client_id()]}

            def get_encode_header(self, client):
                return {"alg": "RS256", "kid": "test-key"}

            def generate_user_info(self, user, scope):
                if provider.thin_id_token:
                    return UserInfo(sub=user["sub"])
                return UserInfo(sub=user["sub"], name=user["name"], email=f"{user['sub']}@provider.test",
                                email_verified=provider.email_verified,
                                picture=f"{provider.issuer}/avatar/{user['sub']}.png",
                                profile=f"{provider.issuer}/people/{user['sub']}")

        def query_client(client_id):
            if client_id == provider.client_id:
                return Client(provider.client_id, provider.client_secret, provider.redirect_uris)
            return None

        def save_token(token, req):
            provider.tokens[token["access_token"]] = AccessToken(
                token=token["access_token"], client_id=req.client.get_client_id(), scope=token.get("scope", ""),
                user=req.user, expires_at=time.time() + token["expires_in"])

        server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
        server.register_grant(CodeGrant, [IDToken(require_nonce=True), CodeChallenge(required=True)])

        class Validator(BearerTokenValidator):
            def authenticate_token(self, token_string):
                return provider.tokens.get(token_string)

        protect = ResourceProtector()
        protect.register_token_validator(Validator())

        @app.get("/.well-known/openid-configuration")
        def discovery():
            return jsonify(
                issuer=provider.issuer, authorization_endpoint=f"{provider.issuer}/authorize",
                token_endpoint=f"{provider.issuer}/token", userinfo_endpoint=f"{provider.issuer}/userinfo",
                jwks_uri=f"{provider.issuer}/jwks", response_types_supported=["code"],
                subject_types_supported=["public"], id_token_signing_alg_values_supported=["RS256"],
                code_challenge_methods_supported=["S256"], scopes_supported=["openid", "profile", "email"],
                token_endpoint_auth_methods_supported=["client_secret_basic", "client_secret_post"],
            )

        @app.get("/jwks")
        def jwks():
            return jsonify(KeySet([provider.key]).as_dict(private=False))

        @app.route("/authorize", methods=["GET", "POST"])
        def authorize():
            grant = server.get_consent_grant(end_user=None)
            if request.method == "GET" and provider.remembered_user:
                response = server.create_authorization_response(grant=grant, grant_user=dict(provider.remembered_user))
                provider.nonces.add(request.args.get("nonce"))
                return response
            if request.method == "GET":
                response = app.make_response(render_template_string(LOGIN_PAGE))
                if provider.opener_policy:
                    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
                return response
            if request.form.get("action") == "deny":
                return server.create_authorization_response(grant=grant, grant_user=None)
            user = {"sub": request.form["sub"], "name": request.form["name"]}
            response = server.create_authorization_response(grant=grant, grant_user=user)
            provider.nonces.add(request.args.get("nonce"))  # a second use of this nonce is a replay
            return response

        @app.post("/token")
        def token():
            if provider.broken_token_endpoint:
                return "<html>Service Unavailable</html>", 200, {"Content-Type": "text/html"}
            return server.create_token_response()

        @app.get("/userinfo")
        @protect("openid")
        def userinfo():
            user = current_token.user
            return jsonify({"sub": user["sub"], "name": user["name"]} | provider.userinfo_overrides)

        return app
