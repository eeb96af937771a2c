"""Generated input at the HTML surfaces: the iframe page's parameters, and every dashboard page and form,
logged in as an administrator. Never a 500, whatever arrives."""
import re
from urllib.parse import quote

import pytest
from conftest import ORIGIN, PAGE
from dashboard_helpers import create_admin, csrf_token, logged_in
from hypothesis import given, settings
from hypothesis import strategies as st

# Any text a browser can put in an address or a form (UTF-8 cannot carry a lone surrogate).
sendable = st.text(st.characters(codec="utf-8"), max_size=40)
tricky = st.sampled_from([
    "", " ", "\x00", "x\x00y", "blog", "nope", PAGE, ORIGIN, "https://[::1", "https://%5B::1", "//evil.example",
    "/dashboard/x", "0", "-1", "²", "٣", "99999999999", "9" * 30, "<script>", "'; --", "%", "%00", "\u202e",
    "yes", "no", "all", "none", "approve", "spam", "delete", "restore", "pin", "owner", "moderator", "email", "ip",
    "never", "7", "a" * 3000,
])
values = tricky | sendable

EMBED_PARAMS = ["site", "url", "thread_id", "title", "lang", "origin", "theme", "highlight", "accent",
                "background", "font"]


@settings(max_examples=150)
@given(params=st.dictionaries(st.sampled_from(EMBED_PARAMS), values, max_size=8),
       keep=st.sets(st.sampled_from(["site", "url", "origin"])))
def test_embed_page_never_500s(client, site, params, keep):
    # Often start from a working request, so the generated values reach past the first check.
    base = {key: value for key, value in {"site": "blog", "url": PAGE, "origin": ORIGIN}.items() if key in keep}
    response = client.get("/embed/thread", query_string=base | params)
    assert response.status_code < 500, (params, response.get_data(as_text=True)[:500])
    assert response.headers.get("Content-Security-Policy")


# Every field name any dashboard form or filter reads.
FIELDS = ["action", "as", "before", "body", "close_after_days", "confirm", "current", "days", "email",
          "guests_allowed", "ids", "kind", "label", "locked", "name", "next", "note", "p", "password", "past",
          "providers", "providers_mode", "public_id", "q", "reason", "role", "value", "status", "page", "author",
          "thread", "origins", "moderation", "edit_window", "max_depth", "max_body_length", "max_links",
          "notify_email", "privacy_url", "ban_action"]
# Logging out would leave the rest of the run logged out.
SKIPPED_ENDPOINTS = {"dashboard.logout"}
PATH_ARG = re.compile(r"<(?:(int):)?(\w+)>")


@pytest.fixture
def dashboard(app, runner, site, post):
    """An administrator's browser, and the dashboard's routes with ids that exist and ids that do not."""
    create_admin(runner)
    admin = logged_in(app)
    comment_id = post("A comment to moderate").get_json()["comment"]["id"]
    rules = sorted((rule.rule, method) for rule in app.url_map.iter_rules()
                   if rule.endpoint.startswith("dashboard.") and rule.endpoint not in SKIPPED_ENDPOINTS
                   for method in rule.methods & {"GET", "POST"})
    return admin, csrf_token(admin, "/dashboard/account"), rules, comment_id


def _path(rule, draw_value, draw_id):
    def fill(match):
        return str(draw_id()) if match.group(1) == "int" else quote(draw_value(), safe="")
    return PATH_ARG.sub(fill, rule)


@settings(max_examples=400)
@given(data=st.data())
def test_every_dashboard_page_and_form_never_500s(dashboard, data):
    admin, token, rules, comment_id = dashboard
    rule, method = data.draw(st.sampled_from(rules))
    path = _path(rule, lambda: data.draw(st.sampled_from(["blog", "blog", "nope"]) | values),
                 lambda: data.draw(st.sampled_from([comment_id, 1, 2**31 - 1, 2**31, 2**63, 0])))
    fields = data.draw(st.dictionaries(st.sampled_from(FIELDS), values | st.lists(values, max_size=3), max_size=6))
    if method == "GET":
        response = admin.get(path, query_string=fields)
    else:
        response = admin.post(path, data=fields | {"csrf_token": token})
    assert response.status_code < 500, (method, path, fields, response.get_data(as_text=True)[:500])
