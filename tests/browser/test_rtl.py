"""Right-to-left languages in a real browser: the widget in Arabic and Hebrew mirrors, on a desktop and a phone."""
import shutil

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

# A conversation as readers of an Arabic or a Hebrew blog would write it: a comment, a reply, a reply
# to the reply, and a second comment quoting the third.
CONVERSATIONS = {
    "ar": [
        ("مريم", "مقال واضح جدًا. جرّبت **الطريقة الثانية** في مشروع العام الماضي ونجحت، لكن "
                 "[دليل الترحيل](https://example.com/guide) تجاهل بعض الحالات الخاصة."),
        ("يوسف", "ما الحالات التي واجهتكِ؟ أنوي تجربتها بنفسي."),
        ("مريم", "المناطق الزمنية غالبًا. خزّن الوقت بتوقيت UTC وحوّله عند العرض فقط."),
        ("سلمى", "> خزّن الوقت بتوقيت UTC\n\nهذه هي القاعدة التي تمنيت لو تعلمتها مبكرًا."),
    ],
    "he": [
        ("מרים", "כתבה ברורה מאוד. ניסיתי את **הגישה השנייה** בפרויקט בשנה שעברה והיא עבדה היטב, אבל "
                 "[מדריך ההגירה](https://example.com/guide) דילג על כמה מקרי קצה."),
        ("יונתן", "באילו מקרי קצה נתקלת? אני עומד לנסות את זה בעצמי."),
        ("מרים", "בעיקר אזורי זמן. שומרים ב־UTC וממירים רק בתצוגה."),
        ("שרה", "> שומרים ב־UTC\n\nזה הכלל שהלוואי שהייתי לומד מוקדם יותר."),
    ],
}
WORDS = {
    "ar": {"count": "4 تعليقات", "submit": "نشر التعليق", "frame": "التعليقات"},
    "he": {"count": "4 תגובות", "submit": "פרסום תגובה", "frame": "תגובות"},
}
VIEWPORTS = {"desktop": {"width": 1000, "height": 1800}, "phone": {"width": 390, "height": 1800}}


def _seed(widget, lang):
    (first_name, first), (reply_name, reply), (answer_name, answer), (other_name, other) = CONVERSATIONS[lang]
    first_id, _ = widget.comment(first, name=first_name)
    reply_id, _ = widget.comment(reply, name=reply_name, parent=first_id)
    widget.comment(answer, name=first_name, parent=reply_id)
    widget.comment(other, name=other_name)
    widget.like(first_id, 2)
    return first_id, reply_id


def _box(locator):
    box = locator.bounding_box()
    assert box, f"{locator} is not drawn"
    return box


def _last_line(locator):
    """Where the last line of an element's text runs, and its content box: a line's alignment shows there."""
    return locator.evaluate("""e => {
        const range = document.createRange(); range.selectNodeContents(e);
        const rects = [...range.getClientRects()].filter(r => r.width > 0);
        const bottom = Math.max(...rects.map(r => r.bottom));
        const line = rects.filter(r => Math.abs(r.bottom - bottom) < 2);
        const own = e.getBoundingClientRect(), style = getComputedStyle(e);
        return {left: Math.min(...line.map(r => r.left)), right: Math.max(...line.map(r => r.right)),
                boxLeft: own.left + parseFloat(style.paddingLeft),
                boxRight: own.right - parseFloat(style.paddingRight)};
    }""")


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("lang", ["ar", "he"])
def test_the_widget_mirrors_in_right_to_left_languages(widget, browser, tmp_path, artifacts, lang, viewport):
    widget.site()
    first_id, reply_id = _seed(widget, lang)
    context = browser.new_context(locale="en-US", viewport=VIEWPORTS[viewport])
    page = context.new_page()
    page.set_default_timeout(10_000)
    base = widget.host.url
    # The snippet says the page's language; the count link on the page is worded in it too.
    frame = widget.open(page, container=f' data-parley-lang="{lang}"', script=f' data-parley-lang="{lang}"',
                        before=f'<p><a id="count" data-parley-count="{base}/post">…</a></p>')
    words = WORDS[lang]

    expect(frame.locator("html")).to_have_attribute("dir", "rtl")
    expect(frame.locator("html")).to_have_attribute("lang", lang)
    expect(frame.locator("#parley-title")).to_have_text(words["count"])
    expect(frame.locator("#parley-form [type=submit]")).to_have_text(words["submit"])
    expect(page.locator("iframe.parley-frame")).to_have_attribute("title", words["frame"])
    expect(page.locator("#count")).to_have_text(words["count"])

    first = frame.locator(f"#comment-{first_id}")
    reply = frame.locator(f"#comment-{reply_id}")
    # The reply is indented from the right: its right edge stands left of its parent's, its left edge
    # does not, and the thread line runs down the right side of the replies.
    parent_box, reply_box = _box(first), _box(reply.locator("> .comment-body"))
    assert reply_box["x"] + reply_box["width"] < parent_box["x"] + parent_box["width"] - 8
    assert abs(reply_box["x"] - parent_box["x"]) <= 1
    children = first.locator("> .children")
    assert children.evaluate("e => [getComputedStyle(e).borderRightWidth, getComputedStyle(e).borderLeftWidth]") \
        == ["2px", "0px"]
    # The avatar stands on the right of the author's name.
    for comment in (first, reply):
        avatar = _box(comment.locator("> .comment-body .avatar"))
        name = _box(comment.locator("> .comment-body .comment-author"))
        assert avatar["x"] >= name["x"] + name["width"] - 1
    # The reply arrow turns round to point back along the line.
    arrow = first.locator("> .comment-body .comment-reply-link .icon")
    assert arrow.evaluate("e => getComputedStyle(e).transform") == "matrix(-1, 0, 0, 1, 0, 0)"
    # Text starts at the right: a paragraph's last line ends at its box's right edge and leaves the
    # room on the left, and the heading opens its row from the right.
    for paragraph in (first.locator("> .comment-body .comment-content p").first,
                      first.locator("> .comment-body .comment-metadata")):
        line = _last_line(paragraph)
        assert abs(line["right"] - line["boxRight"]) <= 1.5 and line["left"] > line["boxLeft"] + 20, line
    heading, row = _box(frame.locator("#parley-title")), _box(frame.locator("#parley-title").locator(".."))
    assert abs(heading["x"] + heading["width"] - (row["x"] + row["width"])) <= 1.5
    # Nothing sticks out sideways (the form's hidden field is put off-screen on the reader's start side).
    assert frame.locator("html").evaluate("e => e.scrollWidth <= e.clientWidth")
    assert page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")

    name = f"widget-rtl-{lang}-{viewport}.png"
    frame.locator("#parley-title").wait_for()
    page.locator("iframe.parley-frame").screenshot(path=str(tmp_path / name))
    shutil.copy(tmp_path / name, artifacts / name)
    context.close()
