"""The embed surface over HTTP: the iframe page, the loader, the widget's files, /demo."""
import base64
import gzip
import hashlib
import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import brotli
import pytest
from conftest import GUEST, ORIGIN, PAGE

from widget import i18n
from widget.embed import assets

ROOT = Path(__file__).resolve().parent.parent
CONFIG_JSON = re.compile(r'<script type="application/json" id="parley-config">(.*?)</script>', re.S)


@pytest.fixture
def embed(client, site):
    def embed_(headers=None, **params):
        query = {"site": site, "url": PAGE, "origin": ORIGIN} | params
        query = {k: v for k, v in query.items() if v is not None}
        return client.get("/embed/thread", query_string=query, headers=headers)
    return embed_


def widget_config(response):
    return json.loads(CONFIG_JSON.search(response.get_data(as_text=True)).group(1))


def csp(response):
    """The Content-Security-Policy as {directive: [values]}."""
    policy = {}
    for part in response.headers["Content-Security-Policy"].split(";"):
        name, *values = part.split()
        policy[name] = values
    return policy


class InlineCode(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' would block: inline scripts, styles, handlers.

    The widget's own stylesheet, written into its page and named in the page's policy by hash, is
    the one inline style allowed; any other <style> element is collected.
    """

    OWN_STYLESHEET = assets.build_widget(ROOT / "static").files["thread.css"].body.decode()

    def __init__(self):
        super().__init__()
        self.found = []
        self.style = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and "src" not in attrs and attrs.get("type") != "application/json":
            self.found.append("inline <script>")
        if tag == "style":
            self.style = ""
        self.found += [f"{name} attribute on <{tag}>" for name in attrs if name == "style" or name.startswith("on")]

    def handle_data(self, data):
        if self.style is not None:
            self.style += data

    def handle_endtag(self, tag):
        if tag == "style":
            if self.style != self.OWN_STYLESHEET:
                self.found.append("<style> element")
            self.style = None


# The iframe page ----------------------------------------------------------------------------

def test_thread_page_carries_the_first_page_of_comments(embed, post):
    first = post("Hello **world**").get_json()["comment"]
    post("A reply", parent_id=first["id"])
    response = embed()
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "2 Comments" in html
    assert "<strong>world</strong>" in html and "A reply" in html
    assert f'id="comment-{first["id"]}"' in html
    assert f'href="{PAGE}#comment-{first["id"]}"' in html
    config = widget_config(response)
    assert config["page"]["comments"][0]["id"] == first["id"]
    assert config["parentOrigin"] == ORIGIN
    assert config["api"] == "/api/v1/"


def test_thread_page_policy_allows_only_its_own_code_and_the_sites_frames(embed):
    response = embed()
    policy = csp(response)
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]
    # The page's own stylesheet is written into it (one request less before the first paint), named by its hash.
    styles = re.findall(r"<style>(.*?)</style>", response.get_data(as_text=True), re.S)
    assert len(styles) == 1
    digest = base64.b64encode(hashlib.sha256(styles[0].encode()).digest()).decode()
    assert policy["style-src"] == ["'self'", f"'sha256-{digest}'"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'self'", ORIGIN]
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # Not no-referrer: that would make the widget's own POSTs say "Origin: null".
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_thread_page_has_no_inline_code_for_the_policy_to_block(embed, post):
    post("Some *text*")
    parser = InlineCode()
    parser.feed(embed().get_data(as_text=True))
    assert parser.found == []


@pytest.mark.parametrize("origin", [
    "https://evil.example",
    "https://blog.example.com.evil.example",
    "http://blog.example.com",
    "https://blog.example.com:8443",
    "null",
    "",
    None,
])
def test_origin_not_allowed_for_the_site_gets_no_thread(embed, post, origin):
    post("Only for the blog's own pages")
    response = embed(origin=origin)
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "Only for the blog" not in html
    assert "parley-config" not in html
    assert csp(response)["frame-ancestors"] == ["'none'"]
    assert "cannot be shown here" in html


def test_unknown_site_and_missing_page_are_refused(client, embed):
    unknown = client.get("/embed/thread", query_string={"site": "nope", "url": PAGE, "origin": ORIGIN})
    assert unknown.status_code == 404
    assert "nope" in unknown.get_data(as_text=True)
    assert csp(unknown)["frame-ancestors"] == ["'none'"]
    assert embed(url=None).status_code == 400
    bad_url = embed(url="ftp://blog.example.com/x")
    assert bad_url.status_code == 400
    assert "http or https" in bad_url.get_data(as_text=True)
    assert embed(title="x" * 301).status_code == 400


def test_thread_id_alone_names_the_thread(embed, post):
    post("Kept by id", url=..., thread_id="post-42")
    response = embed(url=None, thread_id="post-42")
    assert response.status_code == 200
    assert "Kept by id" in response.get_data(as_text=True)


def test_pending_comments_are_not_in_the_page_everyone_gets(embed, post, set_site):
    set_site("moderation", "all")
    assert post("Waiting for a moderator").get_json()["comment"]["status"] == "pending"
    html = embed().get_data(as_text=True)
    assert "Waiting for a moderator" not in html
    assert "No Comments" in html


def test_inlined_json_cannot_close_its_script_element(embed, post):
    """Stored XSS through the page's data block: a name and title that try to end the <script>."""
    name = "</script><script>alert(1)</script> & co"
    # Names refuse U+2028 and U+2029; bodies keep them, and they reach the block through the HTML.
    assert post("a\u2028b\u2029c <!-- </script> -->", author=GUEST | {"name": name}).status_code == 201
    title = "</SCRIPT><img src=x onerror=alert(1)>"
    response = embed(title=title)
    html = response.get_data(as_text=True)
    block = CONFIG_JSON.search(html).group(1)
    for character in "<>&\u2028\u2029":
        assert character not in block
    config = json.loads(block)
    assert config["title"] == title
    assert config["page"]["comments"][0]["author"]["name"] == name
    assert "\u2028" in config["page"]["comments"][0]["html"]
    # Everywhere else the name is escaped text.
    assert "<script>alert(1)" not in html
    assert "&lt;/script&gt;&lt;script&gt;alert(1)" in html
    parser = InlineCode()
    parser.feed(html)
    assert parser.found == []


def test_theme_language_and_style_options(embed):
    dark = embed(theme="dark", lang="de")
    html = dark.get_data(as_text=True)
    assert '<html lang="de" dir="ltr" data-theme="dark">' in html
    assert "Keine Kommentare" in html and "Kommentar abschicken" in html
    assert 'data-theme="light"' in embed(theme="purple").get_data(as_text=True)
    french = embed(headers={"Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"})
    assert "Aucun commentaire" in french.get_data(as_text=True)
    assert widget_config(french)["lang"] == "fr"
    assert widget_config(embed(lang="xx"))["lang"] == "en"
    for lang in ("ar", "he-IL"):
        page = embed(lang=lang).get_data(as_text=True)
        assert f'<html lang="{lang[:2]}" dir="rtl" data-theme="light">' in page
    arabic = widget_config(embed(lang="ar"))
    assert arabic["messages"]["form.submit"] == "نشر التعليق"
    assert arabic["messages"]["count"]["two"] == "تعليقان"
    styled = widget_config(embed(accent="#b4451f", background="rgb(29, 35, 39)",
                                 font="Georgia, 'Times New Roman', serif"))
    # The accent comes back once per scheme, the dark one lightened to read on the dark background.
    assert styled["style"] == {"accent": "light-dark(#b4451f, #c77457)", "background": "rgb(29, 35, 39)",
                               "font": "Georgia, 'Times New Roman', serif"}


def test_a_page_that_paints_dark_behind_the_comments_gets_the_dark_theme(embed, client):
    assert 'data-theme="dark"' in embed(theme="light", behind="rgb(27, 27, 27)|").get_data(as_text=True)
    assert 'data-theme="light"' in embed(theme="light", behind="rgb(245, 240, 225)|").get_data(as_text=True)
    # The theme the site names is the loader's alone to send: without colours, it stands.
    assert 'data-theme="light"' in embed(theme="light").get_data(as_text=True)
    # What a frame asks when its page changes colours later.
    answer = client.get("/embed/theme", query_string={"theme": "light", "behind": "oklch(0.2 0 0)|"})
    assert answer.status_code == 200 and answer.get_json() == {"theme": "dark"}
    assert "public" in answer.headers["Cache-Control"]


def test_the_theme_for_a_pages_colours_is_kept_a_day_not_a_year(client, site):
    # Its URL names the page's colours, not the rule that judges them, which a release may change.
    answer = client.get("/embed/theme", query_string={"theme": "light", "behind": "rgb(27, 27, 27)|"})
    assert answer.status_code == 200 and answer.get_json() == {"theme": "dark"}
    assert answer.cache_control.public and answer.cache_control.max_age == 86_400


@pytest.mark.parametrize("behind", ["x" * 5000, "|" * 1999, "rgb(" * 400, "\ud7ff|é|", "text ", "text text text",
                                    "rgba(1, 2, 3, -5)|", "oklch(1e308 1e308 1e308)|", "lab(-1e308 0 0)|"])
def test_hostile_page_colours_get_a_page_and_a_theme(embed, client, behind):
    page = embed(theme="light", behind=behind)
    assert page.status_code == 200
    assert re.search(r'data-theme="(light|dark)"', page.get_data(as_text=True))
    answer = client.get("/embed/theme", query_string={"theme": "dark", "behind": behind})
    assert answer.status_code == 200 and answer.get_json()["theme"] in ("light", "dark")


@pytest.mark.parametrize("accent, accent_dark, expected", [
    ("#b4451f", None, "light-dark(#b4451f, #cf8870)"),  # reads on white; lightened for the dark scheme
    ("#b4451f", "#ff9966", "light-dark(#b4451f, #ff9966)"),  # the site's own dark accent, readable as it is
    ("#ffff99", None, "light-dark(#737345, #ffff99)"),  # pale yellow: darkened on the light scheme only
    ("#1a1a40", None, "light-dark(#1a1a40, #9898a9)"),  # very dark: lightened on the dark scheme only
    (None, "#000", "light-dark(#2271b1, #999999)"),  # only a dark accent: the light scheme keeps its own
    ("currentcolour", None, None),  # not a colour: the widget's own accents stay
])
def test_a_sites_accent_is_made_readable_in_each_scheme(embed, accent, accent_dark, expected):
    params = {name: value for name, value in (("accent", accent), ("accent-dark", accent_dark)) if value}
    assert widget_config(embed(**params))["style"].get("accent") == expected


@pytest.mark.parametrize("param, value", [
    ("accent", "red; background: url(https://tracker.example/x)"),
    ("accent", "expression(alert(1))"),
    ("background", "url(https://tracker.example/x)"),
    ("font", "x; } body { display: none"),
    ("font", "Georgia</script>"),
])
def test_style_options_of_an_unsafe_shape_are_dropped(embed, param, value):
    assert widget_config(embed(**{param: value}))["style"] == {}


def test_thread_page_answers_304_until_the_thread_changes(embed, post):
    first = embed()
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "no-cache"
    again = embed(headers={"If-None-Match": etag})
    assert again.status_code == 304
    post("Something new")
    changed = embed(headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert "Something new" in changed.get_data(as_text=True)


def test_locked_thread_shows_no_form(embed, post, set_site):
    set_site("guests_allowed", "no")
    html = embed().get_data(as_text=True)
    assert 'id="parley-form"' not in html
    assert "only accepts comments from readers who log in" in html


# The loader and the widget's files -------------------------------------------------------------

def asset_urls(embed):
    return re.findall(r'(?:href|src)="(/embed/v/[^"]+)"', embed().get_data(as_text=True))


def test_widget_files_have_versioned_urls_cached_for_a_year(client, embed):
    urls = asset_urls(embed)
    # The modules reach the page as one bundle; the sources are not served one by one. The
    # stylesheet is written into the page.
    assert {url.rsplit("/", 1)[1] for url in urls} == {"widget.js"}
    assert 'rel="modulepreload"' not in embed().get_data(as_text=True)
    for module in ("thread.js", "api.js", "render.js"):
        assert client.get(urls[0].rsplit("/", 1)[0] + "/" + module).status_code == 404
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.mimetype in {"text/javascript", "text/css"}
        assert client.get(url, headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


def test_a_stale_version_is_served_but_never_cached(client, embed):
    url = next(u for u in asset_urls(embed) if u.endswith("widget.js"))
    stale = re.sub(r"/embed/v/[^/]+/", "/embed/v/0123456789ab/", url)
    response = client.get(stale)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"
    assert client.get(re.sub(r"widget\.js$", "nothing.js", url)).status_code == 404
    assert client.get(re.sub(r"widget\.js$", "../../../app.py", url)).status_code == 404


def test_version_follows_the_files_content(tmp_path):
    shutil.copytree(ROOT / "static", tmp_path / "static")
    before = assets.build_widget(tmp_path / "static").version
    assert assets.build_widget(tmp_path / "static").version == before
    with open(tmp_path / "static" / "widget" / "thread.css", "a") as css:
        css.write("\n.changed { color: red; }\n")
    after_css = assets.build_widget(tmp_path / "static").version
    assert after_css != before
    # Every module in the bundle counts, even for an edit the minifier drops.
    with open(tmp_path / "static" / "widget" / "store.js", "a") as js:
        js.write("\n// a note\n")
    assert assets.build_widget(tmp_path / "static").version != after_css


@pytest.mark.parametrize("debug", [True, False])
def test_an_edited_module_shows_at_once_in_debug_mode_only(make_app, tmp_path, debug):
    shutil.copytree(ROOT / "static", tmp_path / "static")
    app = make_app(DEBUG=debug)
    app.static_folder = str(tmp_path / "static")
    client = app.test_client()
    before = client.get("/embed/v/any/widget.js").get_data(as_text=True)
    with open(tmp_path / "static" / "widget" / "store.js", "a") as js:
        js.write('\nexport const edited = "just now";\n')
    after = client.get("/embed/v/any/widget.js").get_data(as_text=True)
    assert "just now" not in before
    assert ("just now" in after) is debug


def test_loader_is_served_minified_and_carries_no_catalogue(client, app):
    response = client.get("/embed.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"].startswith("public, max-age=3600")
    assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    body = response.get_data(as_text=True)
    # Words come from the server in the page's language (the count API's labels, the frame's title):
    # thirteen languages in every loader would not fit its size budget.
    for lang in ("de", "ru", "ar"):
        assert i18n.translate_count(lang, "count", 0) not in body
    assert body.index("document.currentScript") < 50  # read at the very top, before anything runs


def minified(tmp_path, name, source):
    """The body build_widget serves for a CSS file, or for the bundle of an entry module, of this source."""
    (tmp_path / "widget").mkdir(exist_ok=True)
    (tmp_path / "widget" / assets.ENTRY).write_text(source if name.endswith(".js") else "", encoding="utf-8")
    if name.endswith(".js"):
        return assets.build_widget(tmp_path).files[assets.BUNDLE].body.decode()
    (tmp_path / "widget" / name).write_text(source, encoding="utf-8")
    return assets.build_widget(tmp_path).files[name].body.decode()


def test_css_strings_survive_minifying_byte_for_byte(tmp_path):
    css = minified(tmp_path, "t.css", '.a > .b::before { content: "a > b"; }\n.c::after { content: "x ; y { }"; }\n')
    assert '"a > b"' in css and '"x ; y { }"' in css
    assert ".a>.b" in css  # outside strings the spaces do go


def test_js_strings_regexes_and_template_literals_survive_minifying(tmp_path):
    literals = ['"https://x/*y*/"', "'// not a comment'", "`first ${url}\n// text, not a comment\n  /* so is this */`",
                "/[/*]+\\/\\//g"]
    source = "".join(f"const v{n} = {literal};\n" for n, literal in enumerate(literals))
    js = minified(tmp_path, "t.js", source)
    for literal in literals:
        assert literal in js
    assert "const v0=" in js  # outside them the spaces do go


def test_minifying_drops_comments(tmp_path):
    js = minified(tmp_path, "t.js", "// line\nconst a = 1; // trailing\n/** doc */\nconst b = /* inline */ 2;\n")
    css = minified(tmp_path, "t.css", "/* why */\n.a { color: red; /* inline */ }\n")
    assert not re.search(r"line|trailing|doc|inline|//|/\*", js)
    assert "const a=1" in js and "const b=2" in js
    assert css == ".a{color:red}"


@pytest.mark.parametrize("path", ["/embed.js", "EMBED_PAGE", "THREAD_JSON"])
def test_text_responses_are_gzipped_for_browsers_that_accept_it(client, embed, post, path):
    for n in range(5):
        post(f"Comment number {n} with enough words to make the JSON worth compressing.")
    url = {"EMBED_PAGE": f"/embed/thread?site=blog&url={PAGE}&origin={ORIGIN}",
           "THREAD_JSON": f"/api/v1/threads?site=blog&url={PAGE}"}.get(path, path)
    plain = client.get(url)
    squeezed = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert "Content-Encoding" not in plain.headers
    # Thread pages are stored in brotli too (smaller), for the browsers that take it.
    encoding = "br" if path == "THREAD_JSON" else "gzip"
    assert squeezed.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in squeezed.headers["Vary"]
    assert (brotli.decompress if encoding == "br" else gzip.decompress)(squeezed.data) == plain.data
    assert len(squeezed.data) < len(plain.data) / 2


def test_small_and_refused_encodings_stay_plain(client, post):
    post("One")
    small = client.get(f"/api/v1/counts?site=blog&url={PAGE}", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in small.headers
    refused = client.get("/embed.js", headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in refused.headers


def test_assets_fit_their_size_budgets():
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "widget_size.py")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    assert "embed.js (loader)" in result.stdout


# /demo -------------------------------------------------------------------------------------------

def test_demo_on_a_fresh_install_makes_its_site_and_embeds_the_snippet(client, runner):
    response = client.get("/demo")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<div id="parley-thread"></div>' in html
    assert '<script src="http://comments.test/embed.js" data-parley-site="demo" async></script>' in html
    assert 'data-parley-count="http://comments.test/demo/second-post"' in html
    assert csp(response)["frame-src"] == ["'self'"]
    listing = runner.invoke(args=["site", "list"]).output
    assert "demo" in listing and "http://comments.test" in listing
    assert client.get("/demo").status_code == 200  # the second visit finds it
    frame = client.get("/embed/thread", query_string={"site": "demo", "url": "http://comments.test/demo",
                                                       "origin": "http://comments.test"})
    assert frame.status_code == 200
    assert client.get("/demo/second-post").status_code == 200
    assert client.get("/demo/no-such-post").status_code == 404
    parser = InlineCode()
    parser.feed(html)
    assert parser.found == []


def test_demo_never_adds_a_site_to_a_configured_server(client, runner, site):
    response = client.get("/demo")
    assert response.status_code == 404
    assert "fresh install" in response.get_data(as_text=True)
    assert "demo" not in runner.invoke(args=["site", "list"]).output


def test_demo_can_be_switched_off(make_app):
    app = make_app(DEMO=False)
    assert app.test_client().get("/demo").status_code == 404


def test_first_paint_of_a_five_thousand_deep_chain_is_bounded(client, embed, app):
    from helpers import seed_chain

    seed_chain(app, "blog", 5000)
    response = client.get(f"/embed/thread?site=blog&url={PAGE}&origin={ORIGIN}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.count('<li id="comment-') == 500 + 1  # the page's comments, and the template's empty one
    assert "Show 4500 more replies" in html
    assert len(response.data) < 1_500_000


def test_login_buttons_carry_each_providers_own_mark_drawn_inline(make_app):
    app = make_app(GITHUB_CLIENT_ID="g", GITHUB_CLIENT_SECRET="s", GOOGLE_CLIENT_ID="o", GOOGLE_CLIENT_SECRET="s",
                   X_CLIENT_ID="x", X_CLIENT_SECRET="s", MYID_CLIENT_ID="m", MYID_CLIENT_SECRET="s",
                   MYID_ISSUER="https://id.example.org", MYID_LABEL="Example ID")
    app.test_cli_runner().invoke(args=["site", "add", "blog", "--name", "Blog", "--origin", ORIGIN])
    html = app.test_client().get("/embed/thread", query_string={"site": "blog", "url": PAGE, "origin": ORIGIN}
                                 ).get_data(as_text=True)
    marks = dict(re.findall(r'data-provider="(\w+)"[^>]*>(<span class="provider-mark.*?</span>)', html))
    assert set(marks) == {"github", "google", "x", "myid"}
    assert 'd="M12 .297c-6.63' in marks["github"]  # the Octocat
    assert marks["google"].count("<path fill=") == 4 and "#4285F4" in marks["google"]  # the four-colour G
    assert "M18.901 1.153" in marks["x"]
    assert len({marks["github"], marks["google"], marks["x"]}) == 3
    # A provider the server knows no mark for keeps its initial.
    assert marks["myid"].endswith(">E</span>")
    # Drawn in the page: nothing to fetch from a provider before the reader clicks.
    assert not re.search(r"<svg[^>]*(href|src)=|<image|<use", "".join(marks.values()))
