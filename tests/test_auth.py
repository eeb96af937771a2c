"""Social login through a real OpenID Connect provider on loopback, over HTTP, and the attacks on it."""
import hashlib
import json
import re
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests
from conftest import ORIGIN, PAGE
from helpers import row_counts
from oidc_provider import LoopbackProvider

SERVER = "http://comments.test"


@pytest.fixture
def provider():
    with LoopbackProvider() as running:
        running.redirect_uris.append(f"{SERVER}/auth/callback/testid")
        yield running


def provider_config(provider, name="TESTID", label="Test ID"):
    return {f"{name}_CLIENT_ID": provider.client_id, f"{name}_CLIENT_SECRET": provider.client_secret,
            f"{name}_ISSUER": provider.issuer, f"{name}_LABEL": label}


@pytest.fixture
def app(make_app, provider):
    return make_app(**provider_config(provider))


def new_secret():
    return secrets.token_urlsafe(32)


def secret_hash(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


def start(client, secret, name="testid", **params):
    response = client.get(f"/auth/login/{name}", query_string={"s": secret_hash(secret)} | params)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def at_provider(authorize_url, action="login", sub="reader-1", name="Grace Hopper"):
    """What the reader does on the provider's page: returns the callback URL it sends them to."""
    assert "Log in to the test provider" in requests.get(authorize_url, timeout=10).text
    response = requests.post(authorize_url, data={"sub": sub, "name": name, "action": action},
                             allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def follow(client, callback_url):
    assert callback_url.startswith(SERVER)
    return client.get(callback_url.removeprefix(SERVER))


def popup_result(response):
    match = re.search(r'<script type="application/json" id="parley-login">(.*?)</script>',
                      response.get_data(as_text=True), re.S)
    return json.loads(match.group(1))


def pairing_code(response):
    """The code the popup shows for the reader to type, where it cannot reach the comment frame."""
    match = re.search(r'<p class="pairing-code"[^>]*>([A-Z-]+)</p>', response.get_data(as_text=True))
    return match and match.group(1)


def log_in(client, secret=None, **who):
    secret = secret or new_secret()
    page = follow(client, at_provider(start(client, secret), **who))
    assert page.status_code == 200, page.get_data(as_text=True)
    return secret, popup_result(page)["code"]


def exchange(client, secret, code=None, pairing=None):
    payload = {"secret": secret} | ({"code": code} if code else {}) | ({"pairing_code": pairing} if pairing else {})
    return client.post("/api/v1/auth/exchange", json=payload)


def token_for(client, **who):
    secret, code = log_in(client, **who)
    response = exchange(client, secret, code)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["token"]


def bearer(token):
    return {"Authorization": f"Bearer {token}", "Origin": ORIGIN}


def test_login_end_to_end(client, site, read):
    secret = new_secret()
    page = follow(client, at_provider(start(client, secret)))
    text = page.get_data(as_text=True)
    assert "You are commenting using your Test ID account" in text
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    result = popup_result(page)
    assert result["origin"] == SERVER and result["code"]

    response = exchange(client, secret, result["code"])
    assert response.status_code == 200
    body = response.get_json()
    assert body["user"]["name"] == "Grace Hopper"
    assert body["user"]["provider_label"] == "Test ID"
    token = body["token"]

    me = client.get("/api/v1/me", headers=bearer(token)).get_json()["user"]
    assert me["name"] == "Grace Hopper" and me["provider"] == "testid"
    assert "email" not in me

    posted = client.post("/api/v1/comments", json={"site": site, "url": PAGE, "body": "as myself"},
                         headers=bearer(token))
    assert posted.status_code == 201, posted.get_json()
    comment = posted.get_json()["comment"]
    assert comment["author"]["name"] == "Grace Hopper"
    assert comment["author"]["provider"] == "testid"
    assert comment["author"]["avatar_url"].endswith("/avatar/reader-1.png")
    assert comment["author"]["website"].endswith("/people/reader-1")
    assert "reader_token" not in posted.get_json()
    assert read(headers=bearer(token)).get_json()["comments"][0]["can_edit"] is True
    assert read().get_json()["comments"][0]["can_edit"] is False

    # A logged-in author edits and deletes with their login alone, from any browser.
    edited = client.patch(f"/api/v1/comments/{comment['id']}", json={"body": "edited"}, headers=bearer(token))
    assert edited.status_code == 200
    assert client.delete(f"/api/v1/comments/{comment['id']}", headers=bearer(token)).status_code == 204

    assert client.post("/api/v1/auth/logout", headers=bearer(token)).status_code == 204
    after = client.get("/api/v1/me", headers=bearer(token))
    assert after.status_code == 401 and after.get_json()["error"]["code"] == "invalid_token"


def test_authorization_request_carries_state_nonce_and_pkce(client):
    location = start(client, new_secret())
    query = parse_qs(urlsplit(location).query)
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) >= 43
    assert query["state"][0] and query["nonce"][0]
    assert query["redirect_uri"] == [f"{SERVER}/auth/callback/testid"]
    assert "openid" in query["scope"][0].split()


def test_popup_that_lost_its_opener_finishes_with_the_pairing_code_the_reader_types(client, site):
    secret = new_secret()
    callback = at_provider(start(client, secret, site=site))
    pending = exchange(client, secret)
    assert pending.status_code == 202 and pending.get_json() == {"status": "pending"}
    page = follow(client, callback)
    shown = pairing_code(page)
    assert re.fullmatch(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}", shown)
    assert "on Blog to finish logging in" in page.get_data(as_text=True)
    # The frame learns that the login finished, and nothing more, from its secret.
    waiting = exchange(client, secret)
    assert waiting.status_code == 202 and waiting.get_json() == {"status": "pairing"}
    # Typed as a reader types it: lower case, with a space instead of the dash.
    collected = exchange(client, secret, pairing=shown.lower().replace("-", " "))
    assert collected.status_code == 200, collected.get_json()
    assert collected.get_json()["user"]["name"] == "Grace Hopper"
    assert exchange(client, secret, pairing=shown).get_json()["error"]["code"] == "code_used"


def test_login_fixation_yields_no_token_to_the_attacker(app, provider, site):
    """The attacker picks a secret and sends a victim, logged in at the provider, to a login link with its hash."""
    attacker, victim = app.test_client(), app.test_client()
    secret = new_secret()
    provider.remembered_user = {"sub": "victim", "name": "Victim"}
    # The provider shows no page: it sends the victim straight back with a code.
    straight_back = requests.get(start(victim, secret, site=site), allow_redirects=False, timeout=10)
    victim_page = follow(victim, straight_back.headers["Location"])
    assert victim_page.status_code == 200 and "Welcome, Victim" in victim_page.get_data(as_text=True)

    # The secret alone releases nothing: not the login, not a token.
    assert exchange(attacker, secret).get_json() == {"status": "pairing"}
    for guess in ["BCDF-GHJK", "ZZZZ-ZZZZ", "XXXX-XXXX", "bcdfbcdf", "QQQQ QQQQ"]:
        refused = exchange(attacker, secret, pairing=guess)
        assert refused.status_code == 400
    assert refused.get_json()["error"]["code"] == "pairing_failed"
    # After five wrong guesses the login is void, even for the code the victim's window shows.
    spent = exchange(attacker, secret, pairing=pairing_code(victim_page))
    assert spent.status_code == 400 and spent.get_json()["error"]["code"] == "code_used"
    # Nor does a made-up one-time code work with the secret.
    assert exchange(attacker, secret, code="made-up-code").get_json()["error"]["code"] == "invalid_code"
    assert row_counts(app)["auth_tokens"] == 0


def test_wrong_pairing_code_can_be_corrected(client):
    secret = new_secret()
    page = follow(client, at_provider(start(client, secret)))
    wrong = exchange(client, secret, pairing="BBBB-BBBB")
    assert wrong.status_code == 400 and wrong.get_json()["error"]["code"] == "wrong_pairing_code"
    assert exchange(client, secret, pairing=pairing_code(page)).status_code == 200


def test_one_login_gives_one_token_however_often_it_is_redeemed(client):
    secret, code = log_in(client)
    answers = [exchange(client, secret, code).status_code for _ in range(3)]
    assert answers == [200, 400, 400]


def test_userinfo_cannot_change_who_logged_in(client, provider):
    """The ID token says who the reader is; a userinfo answer may add a name but never a subject or issuer."""
    provider.thin_id_token = True
    provider.userinfo_overrides = {"iss": "https://evil.example", "name": "From Userinfo"}
    token = token_for(client, sub="reader-9")
    me = client.get("/api/v1/me", headers=bearer(token)).get_json()["user"]
    assert me["name"] == "From Userinfo"
    again = token_for(client, sub="reader-9")  # the same issuer and subject: the same account
    assert client.get("/api/v1/me", headers=bearer(again)).get_json()["user"]["id"] == me["id"]

    provider.userinfo_overrides = {"sub": "someone-else", "name": "Someone Else"}
    secret = new_secret()
    page = follow(client, at_provider(start(client, secret), sub="reader-9"))
    assert page.status_code == 502
    assert exchange(client, secret).get_json()["error"]["code"] == "login_provider_error"


def test_login_code_is_one_time(client):
    secret, code = log_in(client)
    assert exchange(client, secret, code).status_code == 200
    again = exchange(client, secret, code)
    assert again.status_code == 400 and again.get_json()["error"]["code"] == "code_used"
    assert exchange(client, secret).get_json()["error"]["code"] == "code_used"


def test_login_code_expires(client, app):
    from datetime import timedelta

    from widget.extensions import db
    from widget.models import LoginCode

    secret, code = log_in(client)
    with app.app_context():
        for login in db.session.scalars(db.select(LoginCode)):
            login.expires_at -= timedelta(minutes=6)
        db.session.commit()
    response = exchange(client, secret, code)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "code_expired"


def test_stolen_code_is_useless_without_the_frames_secret(client):
    _, code = log_in(client)
    response = exchange(client, new_secret(), code)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_code"


@pytest.mark.parametrize("tamper", ["forged", "missing"])
def test_forged_or_missing_state_is_refused(client, tamper):
    secret = new_secret()
    parts = urlsplit(at_provider(start(client, secret)))
    query = parse_qs(parts.query)
    if tamper == "forged":
        query["state"] = ["attacker-chosen-state"]
    else:
        del query["state"]
    page = follow(client, urlunsplit(parts._replace(query=urlencode(query, doseq=True))))
    assert page.status_code == 400
    assert "could not be verified" in page.get_data(as_text=True)
    assert popup_result(page)["code"] is None
    refused = exchange(client, secret)
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "login_state"


def test_callback_without_a_login_started_in_this_browser_is_refused(client, app):
    callback = at_provider(start(client, new_secret()))
    stranger = app.test_client()  # another browser, e.g. a victim lured to the attacker's callback URL
    page = follow(stranger, callback)
    assert page.status_code == 400
    assert popup_result(page)["code"] is None


def test_replayed_authorization_code_is_refused(client):
    secret = new_secret()
    callback = at_provider(start(client, secret))
    assert follow(client, callback).status_code == 200
    assert follow(client, callback).status_code == 400  # the popup's session state is spent
    # Replay the provider's code inside a fresh login: the provider refuses the spent code.
    second = new_secret()
    fresh_state = parse_qs(urlsplit(start(client, second)).query)["state"][0]
    old_code = parse_qs(urlsplit(callback).query)["code"][0]
    page = client.get("/auth/callback/testid", query_string={"code": old_code, "state": fresh_state})
    assert page.status_code == 502
    assert exchange(client, second).get_json()["error"]["code"] == "login_provider_error"


def test_cancelled_login_is_said_in_words(client):
    secret = new_secret()
    page = follow(client, at_provider(start(client, secret), action="deny"))
    assert page.status_code == 400
    assert "You cancelled the login." in page.get_data(as_text=True)
    assert popup_result(page)["error"] == "cancelled"
    response = exchange(client, secret)
    assert response.get_json()["error"] == {"code": "login_cancelled", "message": "You cancelled the login."}


def test_provider_answering_nonsense_is_said_in_words(client, provider):
    secret = new_secret()
    callback = at_provider(start(client, secret))
    provider.broken_token_endpoint = True
    page = follow(client, callback)
    assert page.status_code == 502
    assert "could not understand" in page.get_data(as_text=True)
    assert exchange(client, secret).get_json()["error"]["code"] == "login_provider_error"


def test_provider_that_is_down_is_said_in_words(make_app):
    with LoopbackProvider() as doomed:
        config = provider_config(doomed, "GONE", "Gone ID")
    app = make_app(**config)  # its server has stopped: discovery cannot be fetched
    client = app.test_client()
    secret = new_secret()
    page = client.get("/auth/login/gone", query_string={"s": secret_hash(secret)})
    assert page.status_code == 502
    assert "could not be reached" in page.get_data(as_text=True)
    assert exchange(client, secret).get_json()["error"]["code"] == "login_provider_down"


def test_login_never_redirects_off_the_server(client, provider):
    location = start(client, new_secret(), next="https://evil.example/steal", redirect_uri="https://evil.example/")
    assert location.startswith(provider.issuer + "/authorize?")
    query = parse_qs(urlsplit(location).query)
    assert query["redirect_uri"] == [f"{SERVER}/auth/callback/testid"]
    assert "evil" not in location
    page = client.get("/auth/callback/testid", query_string={"next": "https://evil.example/"})
    assert page.status_code == 400 and "Location" not in page.headers


def test_provider_refuses_a_redirect_uri_it_does_not_know(client, provider):
    parts = urlsplit(start(client, new_secret()))
    query = parse_qs(parts.query) | {"redirect_uri": ["https://evil.example/callback"]}
    tampered = urlunsplit(parts._replace(query=urlencode(query, doseq=True)))
    response = requests.post(tampered, data={"sub": "x", "name": "x", "action": "login"},
                             allow_redirects=False, timeout=10)
    assert "evil.example" not in response.headers.get("Location", "")


def test_reader_cannot_change_another_readers_comment_with_their_own_token(client, site):
    alice = token_for(client, sub="alice", name="Alice")
    mallory = token_for(client, sub="mallory", name="Mallory")
    comment = client.post("/api/v1/comments", json={"site": site, "url": PAGE, "body": "Alice's words"},
                          headers=bearer(alice)).get_json()["comment"]
    for response in (
        client.patch(f"/api/v1/comments/{comment['id']}", json={"body": "defaced"}, headers=bearer(mallory)),
        client.delete(f"/api/v1/comments/{comment['id']}", headers=bearer(mallory)),
    ):
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "not_author"
    guest = client.post("/api/v1/comments", json={"site": site, "url": PAGE, "body": "guest words",
                                                   "author": {"name": "G", "email": "g@example.org"}}).get_json()
    response = client.patch(f"/api/v1/comments/{guest['comment']['id']}", json={"body": "x"}, headers=bearer(mallory))
    assert response.status_code == 403
    thread = client.get("/api/v1/threads", query_string={"site": site, "url": PAGE}).get_json()
    shown = [c["html"] for c in thread["comments"]]
    assert shown == ["<p>Alice's words</p>", "<p>guest words</p>"]


def test_accounts_are_keyed_by_issuer_and_subject_never_merged(make_app, provider):
    with LoopbackProvider() as other:
        other.redirect_uris.append(f"{SERVER}/auth/callback/otherid")
        app = make_app(**provider_config(provider), **provider_config(other, "OTHERID", "Other ID"))
        client = app.test_client()
        first = token_for(client, sub="same-subject", name="Same Person")
        secret = new_secret()
        page = follow(client, at_provider(start(client, secret, name="otherid"), sub="same-subject",
                                          name="Same Person"))
        second = exchange(client, secret, popup_result(page)["code"]).get_json()["token"]
    me_first = client.get("/api/v1/me", headers=bearer(first)).get_json()["user"]
    me_second = client.get("/api/v1/me", headers=bearer(second)).get_json()["user"]
    assert me_first["id"] != me_second["id"]
    assert (me_first["provider"], me_second["provider"]) == ("testid", "otherid")


def test_logging_in_again_is_the_same_account(client):
    first = client.get("/api/v1/me", headers=bearer(token_for(client))).get_json()["user"]
    again = client.get("/api/v1/me", headers=bearer(token_for(client, name="Grace B. Hopper"))).get_json()["user"]
    assert first["id"] == again["id"] and again["name"] == "Grace B. Hopper"


def test_logged_in_readers_like_once(client, site):
    token = token_for(client)
    comment_id = client.post("/api/v1/comments", json={"site": site, "url": PAGE, "body": "x"},
                             headers=bearer(token)).get_json()["comment"]["id"]
    for _ in range(2):
        state = client.post(f"/api/v1/comments/{comment_id}/like", headers=bearer(token)).get_json()
    assert state["likes"] == 1 and "reader_token" not in state


def test_pending_comment_is_shown_to_its_logged_in_author_only(client, site, set_site, read):
    set_site("moderation", "first-time")
    token = token_for(client)
    posted = client.post("/api/v1/comments", json={"site": site, "url": PAGE, "body": "first"},
                         headers=bearer(token)).get_json()["comment"]
    assert posted["status"] == "pending"
    assert [c["status"] for c in read(headers=bearer(token)).get_json()["comments"]] == ["pending"]
    assert read().get_json()["comments"] == []


def test_a_logged_in_reader_needs_no_form_token_a_guest_does(app, client, site):
    # Logging in with a provider is evidence enough of a person; a guest's post without a token is a script's.
    app.config["SPAM_FORM_TOKENS"] = True
    token = token_for(client)
    logged_in = client.post("/api/v1/comments", json={"site": site, "url": PAGE, "body": "From my own script"},
                            headers=bearer(token)).get_json()["comment"]
    assert logged_in["status"] == "approved"
    guest = client.post("/api/v1/comments", headers={"Origin": ORIGIN}, json={
        "site": site, "url": PAGE, "body": "From a bot", "author": {"name": "Bot", "email": "bot@example.net"}})
    assert guest.get_json()["comment"]["status"] == "pending"


def test_logged_in_reader_sends_no_author(client, site):
    token = token_for(client)
    response = client.post("/api/v1/comments", json={"site": site, "url": PAGE, "body": "x",
                                                      "author": {"name": "Other", "email": "o@example.org"}},
                           headers=bearer(token))
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "author_with_login"


def test_guests_off_still_lets_logged_in_readers_post(client, site, set_site):
    set_site("guests_allowed", "no")
    token = token_for(client)
    response = client.post("/api/v1/comments", json={"site": site, "url": PAGE, "body": "x"}, headers=bearer(token))
    assert response.status_code == 201


def test_site_chooses_its_providers(client, site, set_site):
    token = token_for(client)
    set_site("providers", "github")
    page = client.get("/auth/login/testid", query_string={"s": secret_hash(new_secret()), "site": site})
    assert page.status_code == 403 and "not enabled for this site" in page.get_data(as_text=True)
    response = client.post("/api/v1/comments", json={"site": site, "url": PAGE, "body": "x"}, headers=bearer(token))
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "provider_not_enabled"


@pytest.mark.parametrize("path,status", [
    ("/auth/login/nosuch?s=" + "a" * 64, 404),
    ("/auth/login/testid?s=short", 400),
    ("/auth/login/testid", 400),
    ("/auth/callback/nosuch", 404),
])
def test_bad_login_links_get_a_page_that_says_why(client, path, status):
    response = client.get(path)
    assert response.status_code == status
    assert "Login problem" in response.get_data(as_text=True)


@pytest.mark.parametrize("payload,code", [
    ({}, "missing_secret"),
    ({"secret": "short"}, "invalid_secret"),
    ({"secret": "x" * 40, "code": 7}, "invalid_code"),
    ({"secret": "x" * 40, "code": "made-up"}, "invalid_code"),
    ({"secret": "x" * 40, "extra": 1}, "unknown_field"),
])
def test_bad_exchange_requests(client, payload, code):
    response = client.post("/api/v1/auth/exchange", json=payload)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == code


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Bearer " + "x" * 300])
def test_unknown_bearer_token_is_401_everywhere(client, site, header):
    for response in (client.get("/api/v1/me", headers={"Authorization": header}),
                     client.get("/api/v1/threads", query_string={"site": site, "url": PAGE},
                                headers={"Authorization": header}),
                     client.post("/api/v1/auth/logout", headers={"Authorization": header})):
        assert response.status_code == 401


def test_me_without_login(client):
    assert client.get("/api/v1/me").get_json() == {"user": None}


def test_providers_come_from_the_environment(make_app):
    from widget.web.providers import available

    app = make_app(GITHUB_CLIENT_ID=12345, GITHUB_CLIENT_SECRET="s", GOOGLE_CLIENT_ID="only-id",
                   CORP_CLIENT_ID="c", CORP_CLIENT_SECRET="s", CORP_ISSUER="https://sso.corp.example",
                   CORP_LABEL="Corp SSO", HALF_ISSUER="https://half.example")
    offered = available(app)
    assert list(offered) == ["github", "corp"]
    assert offered["corp"].label == "Corp SSO" and offered["corp"].openid
    with app.app_context():
        client = app.extensions["parley_oauth"].create_client("github")
        assert client.client_id == "12345"


def test_provider_names_are_cleaned_and_cannot_pose_as_staff(client, site):
    hidden = token_for(client, sub="hidden", name="\u202eGrace\u200b Hopper\u2066")
    assert client.get("/api/v1/me", headers=bearer(hidden)).get_json()["user"]["name"] == "Grace Hopper"
    blank = token_for(client, sub="blank", name="\u200b\u3164")
    assert client.get("/api/v1/me", headers=bearer(blank)).get_json()["user"]["name"] == "Reader"
    poser = token_for(client, sub="poser", name="\u0410dministrator")
    response = client.post("/api/v1/comments", json={"site": site, "url": PAGE, "body": "Official notice"},
                           headers=bearer(poser))
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "name_reserved"
