"""Login providers: every Authlib call lives here.

Built-in providers are offered when PARLEY_<NAME>_CLIENT_ID and _CLIENT_SECRET are set;
any other NAME that also has PARLEY_<NAME>_ISSUER is a generic OpenID Connect provider.
"""
import re
from dataclasses import dataclass
from typing import Any

from .. import names
from ..readers import LOGIN_ERRORS
from ..urls import is_web_url

OIDC_SCOPE = "openid profile email"


def _microsoft_issuer(_claims, value):
    # The multi-tenant endpoint names each tenant in `iss`; any Microsoft tenant issuer is fine.
    return isinstance(value, str) and bool(
        re.fullmatch(r"https://login\.microsoftonline\.com/[0-9a-f-]{36}/v2\.0", value))


BUILT_IN: dict[str, dict[str, Any]] = {
    "github": {
        "label": "GitHub",
        "register": {
            "authorize_url": "https://github.com/login/oauth/authorize",
            "access_token_url": "https://github.com/login/oauth/access_token",
            "api_base_url": "https://api.github.com/",
            "client_kwargs": {"scope": "read:user", "code_challenge_method": "S256"},
        },
    },
    "google": {
        "label": "Google",
        "register": {"server_metadata_url": "https://accounts.google.com/.well-known/openid-configuration"},
    },
    "facebook": {
        "label": "Facebook",
        "register": {
            "authorize_url": "https://www.facebook.com/v19.0/dialog/oauth",
            "access_token_url": "https://graph.facebook.com/v19.0/oauth/access_token",
            "api_base_url": "https://graph.facebook.com/v19.0/",
            "client_kwargs": {"scope": "public_profile", "code_challenge_method": "S256"},
        },
    },
    "x": {
        "label": "X",
        "register": {
            "authorize_url": "https://x.com/i/oauth2/authorize",
            "access_token_url": "https://api.x.com/2/oauth2/token",
            "api_base_url": "https://api.x.com/2/",
            "client_kwargs": {"scope": "users.read tweet.read", "code_challenge_method": "S256",
                              "token_endpoint_auth_method": "client_secret_basic"},
        },
    },
    "gitlab": {
        "label": "GitLab",
        "register": {"server_metadata_url": "https://gitlab.com/.well-known/openid-configuration"},
    },
    "microsoft": {
        "label": "Microsoft",
        "register": {"server_metadata_url":
                     "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration"},
        "claims_options": {"iss": {"essential": True, "validate": _microsoft_issuer}},
    },
}


class ProviderError(Exception):
    """A login that did not complete; `reason` is a key of readers.LOGIN_ERRORS."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason
        self.message = LOGIN_ERRORS[reason]


@dataclass(frozen=True)
class Provider:
    name: str
    label: str
    openid: bool
    claims_options: dict | None = None


@dataclass(frozen=True)
class Profile:
    realm: str
    subject: str
    provider: str
    name: str
    avatar_url: str | None
    profile_url: str | None
    email: str | None
    # The provider says it checked the address (OpenID Connect's email_verified claim).
    email_verified: bool = False


def _configured(config):
    """The providers this server has credentials for, in a stable order."""
    found = {}
    for name, spec in BUILT_IN.items():
        key = name.upper()
        if config.get(f"{key}_CLIENT_ID") and config.get(f"{key}_CLIENT_SECRET"):
            found[name] = Provider(name, spec["label"], "server_metadata_url" in spec["register"],
                                   spec.get("claims_options"))
    for key in sorted(config):
        match = re.fullmatch(r"([A-Z][A-Z0-9]{0,29})_ISSUER", key)
        if not match or match.group(1).lower() in BUILT_IN:
            continue
        prefix = match.group(1)
        if config.get(f"{prefix}_CLIENT_ID") and config.get(f"{prefix}_CLIENT_SECRET"):
            name = prefix.lower()
            found[name] = Provider(name, str(config.get(f"{prefix}_LABEL") or prefix.title()), True)
    return found


def init_app(app):
    """Build this app's own Authlib registry (a shared one would keep the first app's clients).

    Only where a provider is configured: Authlib and what it imports take a noticeable part of every start,
    and of every command's.
    """
    providers = _configured(app.config)
    app.extensions["parley_providers"] = providers
    app.extensions["parley_oauth"] = _registry(app, providers) if providers else None


def _registry(app, providers):
    from authlib.integrations.flask_client import OAuth

    oauth = OAuth(app)
    for name, provider in providers.items():
        key = name.upper()
        if name in BUILT_IN:
            options = dict(BUILT_IN[name]["register"])
        else:
            issuer = str(app.config[f"{key}_ISSUER"]).rstrip("/")
            options = {"server_metadata_url": f"{issuer}/.well-known/openid-configuration"}
        if provider.openid:
            options["client_kwargs"] = {"scope": OIDC_SCOPE, "code_challenge_method": "S256"}
        # from_prefixed_env turns numeric ids into ints; providers want the text.
        oauth.register(name, client_id=str(app.config[f"{key}_CLIENT_ID"]),
                       client_secret=str(app.config[f"{key}_CLIENT_SECRET"]), **options)
    return oauth


def available(app):
    """{name: Provider} configured on this server."""
    return app.extensions["parley_providers"]


def register_purpose(app, purpose, finish):
    """Let a surface own the logins it starts: the shared callback hands those to `finish(name, pending)`.

    The login popup of the widget is the default; the dashboard registers its own purposes, so
    the callback never needs to import the dashboard.
    """
    app.extensions.setdefault("parley_login_purposes", {})[purpose] = finish


def purpose_finisher(app, purpose):
    """The view function that finishes a login started for `purpose`, or None."""
    return app.extensions.get("parley_login_purposes", {}).get(purpose)


def start_login(app, name, redirect_uri):
    """The redirect response to the provider's login page (state, nonce and PKCE kept in the session)."""
    import requests
    from authlib.common.errors import AuthlibBaseError
    from joserfc.errors import JoseError

    client = app.extensions["parley_oauth"].create_client(name)
    try:
        return client.authorize_redirect(redirect_uri)
    except requests.RequestException:
        raise ProviderError("provider_down") from None
    except (AuthlibBaseError, JoseError, ValueError, KeyError, TypeError):
        raise ProviderError("provider_error") from None


def finish_login(app, name, args):
    """Check the callback (state, nonce, PKCE via the provider) and return who logged in."""
    import requests
    from authlib.common.errors import AuthlibBaseError
    from authlib.integrations.base_client import MismatchingStateError, OAuthError
    from joserfc.errors import JoseError

    provider = available(app)[name]
    client = app.extensions["parley_oauth"].create_client(name)
    if args.get("error") == "access_denied":
        raise ProviderError("cancelled")
    try:
        options = {"claims_options": provider.claims_options} if provider.claims_options else {}
        token = client.authorize_access_token(**options)
        if provider.openid:
            return _openid_profile(provider, client, token)
        return _oauth_profile(provider, client, token)
    except MismatchingStateError:
        raise ProviderError("state") from None
    except OAuthError as error:
        raise ProviderError("cancelled" if error.error == "access_denied" else "provider_error") from None
    except requests.RequestException as error:
        down = not isinstance(error, requests.HTTPError)
        raise ProviderError("provider_down" if down else "provider_error") from None
    except (AuthlibBaseError, JoseError, ValueError, KeyError, TypeError, AttributeError):
        raise ProviderError("provider_error") from None


def _text(value, limit):
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        return None
    value = re.sub(r"[\x00-\x1f\x7f\u2028\u2029]", "", str(value)).strip()
    return value[:limit] or None


def _url(value):
    return value if isinstance(value, str) and len(value) <= 500 and is_web_url(value) else None


def _profile(provider, realm, subject, name, avatar, profile_url, email, email_verified=False):
    subject = _text(subject, 255)
    if not subject:
        raise ProviderError("provider_error")
    # The provider's name, cleaned as a guest's is: nothing invisible, nothing that turns text around.
    shown = names.clean(_text(name, 300) or "")[:100].strip() or "Reader"
    return Profile(realm=realm, subject=subject, provider=provider.name, name=shown,
                   avatar_url=_url(avatar), profile_url=_url(profile_url), email=_text(email, 254),
                   email_verified=email_verified is True)


# Who the reader is comes from the signed ID token alone; userinfo may only fill in how they look.
IDENTITY_CLAIMS = ("iss", "sub", "aud", "azp", "exp", "iat", "nonce", "auth_time")


def _openid_profile(provider, client, token):
    claims = token.get("userinfo")  # the ID token's claims, signature, issuer, audience and nonce checked
    if not claims:
        raise ProviderError("provider_error")  # an OpenID provider must send a valid ID token
    claims = dict(claims)
    if not claims.get("name") and client.load_server_metadata().get("userinfo_endpoint"):
        extra = client.userinfo(token=token)
        # OpenID Connect Core 5.3.2: a userinfo answer about another subject must not be used.
        if extra.get("sub") != claims["sub"]:
            raise ProviderError("provider_error")
        claims |= {k: v for k, v in extra.items() if k not in IDENTITY_CLAIMS}
    name = claims.get("name") or claims.get("preferred_username") or claims.get("nickname")
    return _profile(provider, claims["iss"], claims["sub"], name, claims.get("picture"),
                    claims.get("profile"), claims.get("email"), claims.get("email_verified"))


def _get_json(client, path, token, **params):
    response = client.get(path, params=params, token=token)
    response.raise_for_status()
    return response.json()


def _oauth_profile(provider, client, token):
    if provider.name == "github":
        data = _get_json(client, "user", token)
        return _profile(provider, "github", data["id"], data.get("name") or data.get("login"),
                        data.get("avatar_url"), data.get("html_url"), None)
    if provider.name == "facebook":
        data = _get_json(client, "me", token, fields="id,name,picture,link")
        picture = ((data.get("picture") or {}).get("data") or {}).get("url")
        return _profile(provider, "facebook", data["id"], data.get("name"), picture, data.get("link"), None)
    if provider.name == "x":
        data = _get_json(client, "users/me", token, **{"user.fields": "profile_image_url,username,name"})["data"]
        return _profile(provider, "x", data["id"], data.get("name") or data.get("username"),
                        data.get("profile_image_url"), f"https://x.com/{data.get('username', '')}", None)
    raise ProviderError("provider_error")
