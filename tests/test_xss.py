"""Stored XSS: known payloads in bodies and website fields never come back as live HTML."""
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from conftest import PAGE

PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/xss.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<img src=x onerror=alert(1)>",
    "<img src=\"javascript:alert(1)\">",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<svg><a xlink:href=\"javascript:alert(1)\"><text x=20 y=20>x</text></a></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<body onload=alert(1)>",
    "<iframe src=\"javascript:alert(1)\"></iframe>",
    "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
    "<object data=\"javascript:alert(1)\"></object>",
    "<embed src=\"javascript:alert(1)\">",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
    "<a href=\"&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)\">x</a>",
    "<div style=\"background:url(javascript:alert(1))\">x</div>",
    "<input autofocus onfocus=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<marquee onstart=alert(1)>",
    "<form action=\"javascript:alert(1)\"><button>go</button></form>",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
    "<base href=\"javascript:alert(1)//\">",
    "<link rel=stylesheet href=\"javascript:alert(1)\">",
    "<style>@import 'javascript:alert(1)';</style>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    "<template><script>alert(1)</script></template>",
    "<xmp><img src=x onerror=alert(1)></xmp>",
    "<!--<img src=\"--><img src=x onerror=alert(1)//\">",
    "<p id=\"</p><img src=x onerror=alert(1)>\">",
    "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>",
    "<video><source onerror=\"alert(1)\"></video>",
    "<audio src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](javascript&colon;alert(1))",
    "[click]( javascript:alert(1) )",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html,<script>alert(1)</script>)",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](file:///etc/passwd)",
    "[click](\"onmouseover=alert(1))",
    "[a](https://ok.example \"title\" onmouseover=\"alert(1)\")",
    "![x](javascript:alert(1))",
    "![x\" onerror=\"alert(1)](https://x.example/a.png)",
    "<javascript:alert(1)>",
    "[ref]\n\n[ref]: javascript:alert(1)",
    "`<script>alert(1)</script>`",
    "```html\n<script>alert(1)</script>\n```",
    "> <img src=x onerror=alert(1)>",
    "* <svg/onload=alert(1)>",
    "www.example.com/\"><script>alert(1)</script>",
    "https://example.com/\"onmouseover=\"alert(1)",
    "<a href=\"https://ok.example\" onclick=\"alert(1)\">ok</a>",
    "<a href=\"https://ok.example\" target=\"_blank\">tabnab</a>",
    "<<script>script>alert(1)<</script>/script>",
    "\u003cscript\u003ealert(1)\u003c/script\u003e",
    "<scr\x00ipt>alert(1)</script>".replace("\x00", ""),
    "<IMG SRC=`javascript:alert(1)`>",
    "<img \"\"\"><script>alert(1)</script>\">",
    "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
    "<select><noembed></select><img src=x onerror=alert(1)></noembed>",
    "<a href=\"  javascript:alert(1)\">x</a>",
]

WEBSITE_PAYLOADS = [
    "javascript:alert(1)",
    "JAVASCRIPT:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "https://ok.example/\"><script>alert(1)</script>",
    "https://ok.example\" onmouseover=\"alert(1)",
    "//evil.example",
    "file:///etc/passwd",
]

ALLOWED_TAGS = {"p", "br", "hr", "a", "em", "strong", "del", "s", "code", "pre", "blockquote",
                "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6"}
SAFE_SCHEMES = {"http", "https", "mailto"}


class _Audit(HTMLParser):
    """Collects everything in a fragment that could run script or leave the allow-list."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems = []

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag <{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name in {"style", "srcdoc", "src", "formaction", "xlink:href"}:
                self.problems.append(f"attribute {name}")
            if name == "href":
                scheme = urlsplit((value or "").strip()).scheme.lower()
                if scheme and scheme not in SAFE_SCHEMES:
                    self.problems.append(f"href scheme {scheme}")
                if not scheme and (value or "").strip().startswith("//"):
                    self.problems.append("protocol-relative href")
            if tag == "a" and name == "rel":
                if set((value or "").split()) != {"nofollow", "ugc", "noopener"}:
                    self.problems.append(f"rel {value}")
            if name == "target":
                self.problems.append("target")


def audit(html):
    parser = _Audit()
    parser.feed(html)
    parser.close()
    return parser.problems


@pytest.mark.parametrize("payload", PAYLOADS)
def test_body_payload_is_stored_inert(post, read, payload):
    response = post(body=payload)
    assert response.status_code == 201, response.get_json()
    assert audit(response.get_json()["comment"]["html"]) == []
    shown = read().get_json()["comments"][-1]["html"]
    assert audit(shown) == []
    assert "<script" not in shown.lower()


@pytest.mark.parametrize("payload", WEBSITE_PAYLOADS)
def test_website_payload_is_refused(post, read, payload):
    response = post(author={"name": "Mallory", "email": "m@example.org", "website": payload})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_website"
    assert read().get_json()["comments"] == []


def test_links_that_survive_are_marked_nofollow_ugc(post):
    html = post(body="[ok](https://ok.example) and https://bare.example").get_json()["comment"]["html"]
    assert html.count('rel="nofollow ugc noopener"') == 2
    assert audit(html) == []


def test_author_name_is_returned_as_text_not_html(post, read):
    post(author={"name": "<img src=x onerror=alert(1)>", "email": "m@example.org"})
    # The API returns names as JSON strings; the widget renders them with textContent.
    assert read().get_json()["comments"][0]["author"]["name"] == "<img src=x onerror=alert(1)>"


def test_auditor_catches_what_it_should():
    """The audit itself must fail on live payloads, or the tests above prove nothing."""
    assert audit('<a href="javascript:alert(1)">x</a>')
    assert audit("<img src=x onerror=alert(1)>")
    assert audit('<a href="https://x" rel="nofollow ugc noopener" target="_blank">x</a>')
    assert audit('<a href="//evil.example" rel="nofollow ugc noopener">x</a>')
    assert audit('<p><a href="https://ok" rel="nofollow ugc noopener">ok</a></p>') == []


def test_body_origin_header_is_needed_only_from_browsers(client, site):
    # Server-to-server clients send no Origin and are not refused for it.
    response = client.post("/api/v1/comments", json={"site": site, "url": PAGE, "body": "<b>x</b>",
                                                      "author": {"name": "A", "email": "a@example.org"}})
    assert response.status_code == 201
    assert audit(response.get_json()["comment"]["html"]) == []
