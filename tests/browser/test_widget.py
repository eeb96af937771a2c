"""The widget in a real browser: a host page on one site embeds comments served from another."""
import re
import time
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

STORAGE_PROBE = "() => { try { localStorage.setItem('probe', '1'); return 'works'; } catch (e) { return 'throws'; } }"


def widget_frame(page):
    return next(f for f in page.frames if "/embed/thread" in f.url)


def comment(frame, comment_id):
    return frame.locator(f"#comment-{comment_id}")


def own(frame, comment_id, selector):
    """An element of one comment itself, not of its replies."""
    return frame.locator(f"#comment-{comment_id} > .comment-body {selector}")


def top_level(frame):
    return frame.locator("#parley-comments > li.comment")


def wait_until(condition, timeout=10, message="condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(0.05)


def frame_fits_its_content(page):
    """The loader sized the iframe to the widget: nothing hidden, no inner scrollbar needed."""
    frame_height = page.locator("iframe.parley-frame").evaluate("f => f.getBoundingClientRect().height")
    content_height = widget_frame(page).evaluate(
        "() => Math.ceil(document.getElementById('parley').getBoundingClientRect().height)")
    return abs(frame_height - content_height) <= 1


def is_focused(locator):
    return locator.evaluate("e => document.activeElement === e")


def fill_guest_form(frame, body, name="Grace", email="grace@example.org", website=""):
    frame.locator("#parley-comment").fill(body)
    frame.locator("#parley-name").fill(name)
    frame.locator("#parley-email").fill(email)
    frame.locator("#parley-website").fill(website)


def new_comment_id(widget, body):
    thread = widget.thread()

    def walk(nodes):
        for node in nodes:
            if node["html"] and body in node["html"]:
                return node["id"]
            found = walk(node["replies"])
            if found:
                return found
    return walk(thread["comments"])


# Reading ---------------------------------------------------------------------------------------

def test_existing_comments_arrive_with_the_page(widget, page):
    widget.site()
    first, _ = widget.comment("First! With **bold** words.", name="Ada", website="https://ada.example.org")
    reply, _ = widget.comment("A reply, nested under Ada.", name="Bob", parent=first)
    widget.like(first, 2)
    frame = widget.open(page)

    expect(frame.locator("#parley-title")).to_have_text("2 Comments")
    expect(own(frame, first, ".comment-author a")).to_have_text("Ada")
    expect(own(frame, first, ".comment-author a")).to_have_attribute("href", "https://ada.example.org")
    expect(own(frame, first, ".comment-content strong")).to_have_text("bold")
    expect(own(frame, first, ".comment-likes")).to_have_text("2 likes")
    permalink = own(frame, first, ".comment-permalink")
    expect(permalink).to_have_attribute("href", f"{widget.page_url}#comment-{first}")
    expect(permalink).to_have_attribute("target", "_top")
    expect(own(frame, first, "time")).to_have_text(re.compile(r"\d{4}"))
    # Generated faces are drawn from a sprite in the page: no request per face.
    face = own(frame, first, ".avatar use").get_attribute("href")
    expect(frame.locator(f"symbol{face}")).to_have_count(1)
    assert own(frame, first, ".avatar").bounding_box()["width"] == 48
    expect(frame.locator(f"#comment-{first} > ol.children > #comment-{reply}")).to_have_count(1)
    expect(own(frame, reply, ".comment-author")).to_have_text("Bob")
    # One round trip: the comments came inside the iframe's page, with no API call to fetch them.
    assert widget.server.paths("/api/v1/threads?") == [] and widget.server.paths("/api/v1/avatars") == []
    wait_until(lambda: frame_fits_its_content(page), message="the iframe to fit its content")
    assert widget_frame(page).evaluate("() => document.documentElement.scrollHeight <= innerHeight")


def test_widget_draws_comments_exactly_as_the_server_renders_them(widget, page):
    """The script's clone-and-fill rendering and the server's Jinja rendering give the same markup."""
    widget.site(max_depth=2)
    a, a_token = widget.comment("Top **one**", name="Ada", website="https://ada.example.org")
    b, _ = widget.comment("Reply to one", name="Bob", parent=a)
    widget.comment("Past the deepest level", name="Cy", parent=b)
    gone, gone_token = widget.comment("Soon deleted", name="Dee")
    widget.comment("Reply that keeps a placeholder", name="Eve", parent=gone)
    widget.delete(gone, gone_token)
    widget.edit(a, a_token, "Top **one**, edited")
    widget.like(b, 1)
    frame = widget.open(page)
    expect(frame.locator(".is-deleted")).to_have_count(1)
    expect(frame.locator(".comment-in-reply-to")).to_have_count(1)
    expect(frame.locator(".comment-edited")).to_have_count(1)

    def markup():
        return frame.locator("#parley-comments").evaluate("e => e.innerHTML.replace(/>\\s+</g, '><').trim()")

    from_server = markup()
    frame.locator("#parley-sort").select_option("newest")
    expect(top_level(frame).first).to_have_attribute("id", f"comment-{gone}")
    frame.locator("#parley-sort").select_option("oldest")
    expect(top_level(frame).first).to_have_attribute("id", f"comment-{a}")
    assert markup() == from_server


# Writing as a guest ------------------------------------------------------------------------------

def test_guest_posts_replies_likes_edits_and_deletes(widget, page):
    """The main flow under Playwright's launch, where the frame's localStorage throws: tokens live in memory."""
    widget.site()
    seen_hosts = set()
    page.on("request", lambda request: seen_hosts.add(re.match(r"^\w+://[^/]+", request.url).group(0)))
    frame = widget.open(page)
    assert widget_frame(page).evaluate(STORAGE_PROBE) == "throws"
    expect(frame.locator("#parley-title")).to_have_text("No Comments")

    # Post, seeing the posting state while the server takes its time.
    widget.server.delays["/api/v1/comments"] = 0.8
    fill_guest_form(frame, "Hello from a *guest*.", website="grace.example.org")
    submit = frame.locator("#parley-form [type=submit]")
    submit.click()
    expect(submit).to_have_text("Posting…")
    expect(submit).to_be_disabled()
    expect(frame.locator("#parley-comments li.comment")).to_have_count(1)
    del widget.server.delays["/api/v1/comments"]
    mine = new_comment_id(widget, "Hello from a")
    expect(own(frame, mine, ".comment-content em")).to_have_text("guest")
    expect(own(frame, mine, ".comment-author a")).to_have_attribute("href", "https://grace.example.org")
    expect(frame.locator("#parley-title")).to_have_text("1 Comment")
    expect(submit).to_have_text("Post Comment")
    expect(frame.locator("#parley-comment")).to_have_value("")
    expect(frame.locator("#parley-status")).to_have_text("Your comment was posted.")
    assert is_focused(own(frame, mine, "").locator("xpath=."))
    # Storage is refused here, so the reader is told that editing lasts as long as the page.
    expect(frame.locator(".parley-notice")).to_be_visible()
    # The guest's details stay for the next comment.
    expect(frame.locator("#parley-name")).to_have_value("Grace")
    expect(frame.locator("#parley-website")).to_have_value("https://grace.example.org")

    # Reply inline: the form moves under the comment, then comes back.
    own(frame, mine, "[data-action=reply]").click()
    expect(frame.locator(f"#comment-{mine} > #respond")).to_have_count(1)
    expect(frame.locator("#reply-title .reply-title-text")).to_have_text("Leave a Reply to Grace")
    assert is_focused(frame.locator("#parley-comment"))
    frame.locator("#parley-comment").fill("Answering myself.")
    submit.click()
    reply = frame.locator(f"#comment-{mine} > ol.children > li.comment")
    expect(reply).to_have_count(1)
    expect(reply.locator(".comment-content")).to_have_text("Answering myself.")
    expect(frame.locator("#comments > #respond")).to_have_count(1)
    expect(frame.locator("#parley-title")).to_have_text("2 Comments")
    reply_id = int(reply.get_attribute("data-id"))

    # Like and unlike.
    like = own(frame, mine, "[data-action=like]")
    like.click()
    expect(like).to_have_attribute("aria-pressed", "true")
    expect(own(frame, mine, ".comment-likes")).to_have_text("1 like")
    assert widget.thread()["comments"][0]["likes"] == 1
    like.click()
    expect(like).to_have_attribute("aria-pressed", "false")
    expect(own(frame, mine, ".comment-likes")).to_be_hidden()
    wait_until(lambda: widget.thread()["comments"][0]["likes"] == 0, message="the unlike to be stored")

    # Edit: the Markdown the reader wrote comes back into the box.
    own(frame, mine, "[data-action=edit]").click()
    editor = own(frame, mine, ".comment-edit textarea")
    expect(editor).to_have_value("Hello from a *guest*.")
    editor.fill("Hello, **edited**.")
    own(frame, mine, ".comment-edit [type=submit]").click()
    expect(own(frame, mine, ".comment-content strong")).to_have_text("edited")
    expect(own(frame, mine, ".comment-edited")).to_be_visible()
    expect(frame.locator("#parley-status")).to_have_text("Your comment was updated.")
    assert "<strong>edited</strong>" in widget.thread()["comments"][0]["html"]

    # Delete the reply, then the comment.
    own(frame, reply_id, "[data-action=delete]").click()
    own(frame, reply_id, "[data-action=confirm-delete]").click()
    expect(comment(frame, reply_id)).to_have_count(0)
    expect(frame.locator("#parley-title")).to_have_text("1 Comment")
    own(frame, mine, "[data-action=delete]").click()
    own(frame, mine, "[data-action=confirm-delete]").click()
    expect(comment(frame, mine)).to_have_count(0)
    expect(frame.locator("#parley-title")).to_have_text("No Comments")
    assert widget.thread()["comments"] == []
    # Avatars and everything else came from the two origins involved, never a third party.
    assert seen_hosts <= {widget.host.url, widget.server.url}


def test_server_errors_are_shown_and_nothing_typed_is_lost(widget, page):
    widget.site(max_links=0)
    frame = widget.open(page)
    error = frame.locator("#parley-form-error")

    # Checked in the page before sending: the field is marked and focused.
    fill_guest_form(frame, "A fine comment.", email="not-an-email")
    frame.locator("#parley-form [type=submit]").click()
    expect(error).to_have_text("Please enter a valid email address, like name@example.com.")
    expect(frame.locator("#parley-email")).to_have_attribute("aria-invalid", "true")
    assert is_focused(frame.locator("#parley-email"))

    # Refused by the server (this site allows no links): its reason in words, the text kept.
    body = "See https://example.com for more."
    fill_guest_form(frame, body)
    frame.locator("#parley-form [type=submit]").click()
    expect(error).to_have_text("Your comment has more links than this site allows (0).")
    expect(frame.locator("#parley-comment")).to_have_value(body)
    expect(frame.locator("#parley-name")).to_have_value("Grace")
    expect(frame.locator("#parley-comment")).to_have_attribute("aria-invalid", "true")
    expect(frame.locator("#parley-comments li.comment")).to_have_count(0)


def test_a_reader_who_is_rate_limited_is_told_why_and_keeps_their_text(limited_widget, page):
    limited_widget.site()
    frame = limited_widget.open(page)
    fill_guest_form(frame, "The first comment of the minute.")
    frame.locator("#parley-form [type=submit]").click()
    expect(frame.locator("#parley-comments li.comment")).to_have_count(1)

    fill_guest_form(frame, "A second one, too soon.")
    frame.locator("#parley-form [type=submit]").click()
    # The wait comes from Retry-After, in words: about a minute, as the limit is one a minute.
    expect(frame.locator("#parley-form-error")).to_have_text(re.compile(
        r"^That was too many requests for now\. Please try again in (\d\d seconds|1 minute)\.$"))
    expect(frame.locator("#parley-comment")).to_have_value("A second one, too soon.")
    expect(frame.locator("#parley-comments li.comment")).to_have_count(1)


def test_a_bot_that_fills_the_hidden_field_is_held_for_a_moderator(widget, page):
    widget.site()
    frame = widget.open(page)
    homepage = frame.locator("#parley-homepage")
    assert homepage.evaluate("e => e.getBoundingClientRect().right") < 0  # off-screen: people never see it
    fill_guest_form(frame, "Great post! Visit my shop.")
    homepage.fill("https://shop.example", force=True)  # as a form-filling bot does
    frame.locator("#parley-form [type=submit]").click()
    expect(frame.locator("li.comment.is-pending")).to_have_count(1)
    assert widget.thread()["comments"] == []  # other readers see nothing


def test_a_readers_comments_pass_the_form_check_unnoticed_even_from_a_page_the_browser_kept(widget, page):
    # The server's own rules: a comment needs a fresh, unspent form token, and 3 seconds of writing.
    widget.app.config["SPAM_MIN_FORM_SECONDS"] = 3
    widget.site()
    frame = widget.open(page)
    assert widget.server.paths("/api/v1/form-token") == []  # asked for only by readers who write
    submit = frame.locator("#parley-form [type=submit]")
    fill_guest_form(frame, "Written with care.")
    time.sleep(3.2)
    submit.click()
    expect(frame.locator("#parley-status")).to_have_text("Your comment was posted.")
    first = new_comment_id(widget, "Written with care.")
    own(frame, first, "[data-action=reply]").click()
    frame.locator("#parley-comment").fill("And a second thought.")
    time.sleep(3.2)
    submit.click()
    expect(frame.locator(f"#comment-{first} > ol.children > li.comment")).to_have_count(1)
    expect(frame.locator("#parley-status")).to_have_text("Your comment was posted.")
    # The reply's token came with the first comment's answer.
    assert len(widget.server.paths("/api/v1/form-token")) == 1
    # Twice, so that the second load is the browser's own copy, confirmed unchanged.
    for _ in range(2):
        page.reload()
        frame.locator("html.is-live").wait_for(state="attached")
    fill_guest_form(frame, "Back again later.")
    time.sleep(3.2)
    submit.click()
    expect(frame.locator("#parley-status")).to_have_text("Your comment was posted.")
    assert len(widget.server.paths("/api/v1/form-token")) == 2
    assert [c["status"] for c in widget.thread()["comments"]] == ["approved", "approved"]
    assert [r["status"] for r in widget.thread()["comments"][0]["replies"]] == ["approved"]


def test_pending_comment_is_marked_for_its_author_only(widget, browser):
    widget.site(moderation="all")
    author = browser.new_context(locale="en-US")
    frame = widget.open(author.new_page())
    fill_guest_form(frame, "Awaiting a moderator.")
    frame.locator("#parley-form [type=submit]").click()
    pending = frame.locator("li.comment.is-pending")
    expect(pending).to_have_count(1)
    expect(pending.locator(".comment-awaiting-moderation")).to_have_text(
        "Your comment is awaiting moderation. Only you can see it.")
    expect(pending.locator("[data-action=reply]")).to_have_count(0)
    expect(frame.locator("#parley-title")).to_have_text("No Comments")
    expect(frame.locator("#parley-status")).to_have_text(re.compile("once a moderator approves it"))
    author.close()

    other = browser.new_context(locale="en-US")
    frame = widget.open(other.new_page())
    expect(frame.locator("#parley-title")).to_have_text("No Comments")
    expect(frame.locator("li.comment")).to_have_count(0)
    other.close()


def test_keyboard_alone_posts_and_replies(widget, page):
    widget.site()
    frame = widget.open(page)
    # Tab from the host page into the frame and on to the comment box.
    for _ in range(15):
        page.keyboard.press("Tab")
        if widget_frame(page).evaluate("() => document.activeElement.id") == "parley-comment":
            break
    assert is_focused(frame.locator("#parley-comment"))
    page.keyboard.type("Typed without a mouse.")
    for text in ("Kim", "kim@example.org", ""):
        page.keyboard.press("Tab")
        page.keyboard.type(text)
    page.keyboard.press("Tab")  # the "remember me" box
    page.keyboard.press("Tab")
    assert is_focused(frame.locator("#parley-form [type=submit]"))
    page.keyboard.press("Enter")
    posted = frame.locator("#parley-comments li.comment").first
    expect(posted.locator(".comment-content")).to_have_text("Typed without a mouse.")
    # Focus moved to the new comment, and the result was announced.
    assert is_focused(posted.locator("> .comment-body"))
    expect(frame.locator("#parley-status")).to_have_text("Your comment was posted.")

    reply_button = posted.locator("> .comment-body [data-action=reply]")
    reply_button.focus()
    page.keyboard.press("Enter")
    assert is_focused(frame.locator("#parley-comment"))
    page.keyboard.press("Shift+Tab")
    assert is_focused(frame.locator(".cancel-reply"))
    page.keyboard.press("Enter")
    expect(frame.locator("#comments > #respond")).to_have_count(1)
    assert is_focused(reply_button)


# Reading long and sorted threads -------------------------------------------------------------------

def test_sort_by_oldest_newest_and_top(widget, page):
    widget.site()
    old, _ = widget.comment("The oldest", name="Ann")
    mid, _ = widget.comment("In the middle", name="Ben")
    new, _ = widget.comment("The newest", name="Col")
    widget.like(mid, 2)
    widget.like(new, 1)
    frame = widget.open(page)

    def order():
        return [int(i) for i in top_level(frame).evaluate_all("els => els.map(e => e.dataset.id)")]

    assert order() == [old, mid, new]
    frame.locator("#parley-sort").select_option("newest")
    expect(top_level(frame).first).to_have_attribute("id", f"comment-{new}")
    assert order() == [new, mid, old]
    expect(frame.locator("#parley-status")).to_have_text("Comments sorted: Newest.")
    frame.locator("#parley-sort").select_option("top")
    expect(top_level(frame).first).to_have_attribute("id", f"comment-{mid}")
    assert order() == [mid, new, old]


def test_load_more_on_a_thread_of_120_comments(widget, page):
    widget.site()
    ids = [widget.comment(f"Comment number {n}", name=f"Reader {n}")[0] for n in range(120)]
    frame = widget.open(page)
    more = frame.locator("[data-action=more]")
    expect(top_level(frame)).to_have_count(50)
    wait_until(lambda: frame_fits_its_content(page), message="the iframe to fit 50 comments")
    height_before = page.locator("iframe.parley-frame").evaluate("f => f.offsetHeight")

    more.click()
    expect(top_level(frame)).to_have_count(100)
    expect(frame.locator("#parley-status")).to_have_text("50 more comments loaded.")
    assert is_focused(frame.locator(f"#comment-{ids[50]} > .comment-body"))
    more.click()
    expect(top_level(frame)).to_have_count(120)
    expect(more).to_be_hidden()
    assert top_level(frame).last.get_attribute("id") == f"comment-{ids[-1]}"
    expect(frame.locator("#parley-title")).to_have_text("120 Comments")
    wait_until(lambda: frame_fits_its_content(page), message="the iframe to grow with the comments")
    assert page.locator("iframe.parley-frame").evaluate("f => f.offsetHeight") > height_before * 2


def test_long_conversation_comes_in_pieces_with_show_more_replies(widget, page):
    """A page carries a bounded number of comments; the rest of a long conversation comes on request."""
    widget.site(max_depth=3)
    widget.app.config["MAX_PAGE_COMMENTS"] = 20
    ids = [widget.comment("Where it started", name="Reader 0")[0]]
    for n in range(1, 45):
        ids.append(widget.comment(f"Answer number {n}", name=f"Reader {n}", parent=ids[-1])[0])
    frame = widget.open(page)
    expect(frame.locator("li.comment")).to_have_count(20)
    more = frame.get_by_role("button", name="Show 25 more replies")
    expect(more).to_be_visible()

    def markup():
        return frame.locator("#parley-comments").evaluate("e => e.innerHTML.replace(/>\\s+</g, '><').trim()")

    from_server = markup()
    frame.locator("#parley-sort").select_option("newest")
    frame.locator("#parley-sort").select_option("oldest")
    expect(frame.locator("#parley-status")).to_have_text("Comments sorted: Oldest.")
    assert markup() == from_server  # the script draws the button as the server does

    frame.get_by_role("button", name="Show 25 more replies").click()
    expect(frame.locator("li.comment")).to_have_count(40)
    expect(frame.locator("#parley-status")).to_have_text("20 more comments loaded.")
    frame.get_by_role("button", name="Show 5 more replies").click()
    expect(frame.locator("li.comment")).to_have_count(45)
    expect(frame.locator("[data-action=more-replies]")).to_have_count(0)
    last = frame.locator(f"#comment-{ids[-1]}")
    expect(last.locator(".comment-in-reply-to")).to_have_text("In reply to Reader 43")
    expect(last).to_have_class(re.compile(r"\bdepth-45\b"))
    # Shown at the deepest level: inside three nested lists, not forty-four.
    lists_around = "li => { let n = 0; for (let e = li; e; e = e.parentElement) if (e.matches('ol')) n++; return n; }"
    assert last.evaluate(lists_around) == 3


# The host page -----------------------------------------------------------------------------------

def test_counts_on_an_index_page_in_one_request(widget, page):
    widget.site()
    base = widget.host.url
    widget.comment("Only one", url=f"{base}/post-2")
    for n in range(6):
        widget.comment(f"Number {n}", url=f"{base}/post-3")
    links = "".join(f'<p><a href="{base}/post-{n}" data-parley-count="{base}/post-{n}">Comments</a></p>'
                    for n in (1, 2, 3))
    # A relative URL counts too, and two links to one post share the answer.
    links += '<p><a id="again" data-parley-count="/post-3">Comments</a></p>'
    page.goto(widget.serve("/", before=links, thread=False))
    counts = page.locator("[data-parley-count]")
    expect(counts).to_have_text(["No Comments", "1 Comment", "6 Comments", "6 Comments"])
    assert len(widget.server.paths("/api/v1/counts")) == 1


def test_comments_show_while_a_slow_script_later_in_the_page_still_holds_it_back(widget, page):
    # Blog pages often load analytics or ads after the post: until those arrive the page has not finished
    # parsing, and comments that waited for DOMContentLoaded would wait for them too.
    widget.site()
    widget.comment("Here before the ads.")
    widget.comment("On another post", url=f"{widget.host.url}/other")
    held = []
    page.route("**/slow-ads.js", lambda route: held.append(route))
    count = '<p><a id="count" data-parley-count="/post">Comments</a></p>'
    later = '<script src="/slow-ads.js"></script><div data-parley-thread data-parley-url="/other"></div>'
    page.goto(widget.serve(before=count, after=later), wait_until="commit")

    frames = page.locator("iframe.parley-frame")
    expect(page.frame_locator("#parley-thread iframe").locator(".comment-content")).to_have_text(
        ["Here before the ads."])
    assert page.evaluate("document.readyState") == "loading"
    expect(frames).to_have_count(1)  # the second container is not parsed yet
    expect(page.locator("#count")).to_have_text("Comments")

    wait_until(lambda: held, message="the page's slow script to be asked for")
    held[0].fulfill(body="window.ads = true;", content_type="text/javascript")
    expect(page.frame_locator("[data-parley-thread] iframe").locator(".comment-content")).to_have_text(
        ["On another post"])
    expect(frames).to_have_count(2)
    expect(page.locator("#count")).to_have_text("1 Comment")
    # The first frame was not loaded a second time when the rest of the page arrived.
    assert len(widget.server.paths("/embed/thread")) == 2


def test_single_page_app_switches_threads_with_reload(widget, page):
    widget.site()
    widget.comment("On the first page")
    widget.comment("On the second page", url=f"{widget.host.url}/second")
    frame = widget.open(page)
    expect(frame.locator(".comment-content")).to_have_text(["On the first page"])
    page.evaluate("() => { history.pushState({}, '', '/second'); window.parley.reload({url: location.href}); }")
    expect(frame.locator(".comment-content")).to_have_text(["On the second page"])
    expect(page.locator("iframe.parley-frame")).to_have_count(1)


def test_link_to_a_comment_scrolls_to_it_and_highlights_it(widget, page):
    widget.site()
    ids = [widget.comment(f"Comment {n}", name=f"Reader {n}")[0] for n in range(25)]
    widget.serve()
    page.goto(f"{widget.host.url}/post#comment-{ids[20]}")
    frame = page.frame_locator("iframe.parley-frame")
    target = frame.locator(f"#comment-{ids[20]} > .comment-body")
    expect(target).to_have_class(re.compile("is-highlighted"))

    def on_screen(comment_id):
        # The frame is cross-origin: add its place on the host page to the comment's place inside it.
        frame_top = page.locator("iframe.parley-frame").evaluate("f => f.getBoundingClientRect().top")
        offset = frame.locator(f"#comment-{comment_id} > .comment-body").evaluate("e => e.getBoundingClientRect().top")
        return 0 <= frame_top + offset <= page.viewport_size["height"] - 40

    wait_until(lambda: on_screen(ids[20]), message="the host page to scroll to the comment")
    # A link on the host page to another comment moves the highlight there.
    page.evaluate(f"() => {{ location.hash = '#comment-{ids[3]}'; }}")
    expect(frame.locator(f"#comment-{ids[3]} > .comment-body")).to_have_class(re.compile("is-highlighted"))
    expect(target).not_to_have_class(re.compile("is-highlighted"))
    wait_until(lambda: on_screen(ids[3]), message="the host page to scroll back up")


def test_loader_ignores_messages_from_other_origins(widget, page):
    widget.site()
    widget.comment("Something to make the frame tall")
    widget.open(page)
    wait_until(lambda: frame_fits_its_content(page), message="the first resize")
    before = page.locator("iframe.parley-frame").evaluate("f => f.offsetHeight")
    # The host page itself (another origin than the comment server) forges a resize.
    page.evaluate("() => window.postMessage({parley: {v: 1, type: 'resize', height: 5}}, '*')")
    page.wait_for_timeout(200)
    assert page.locator("iframe.parley-frame").evaluate("f => f.offsetHeight") == before


def test_origin_not_allowed_for_the_site_gets_no_thread(widget, page):
    widget.site(origins=["https://elsewhere.example"])
    widget.comment("Not for this page", origin="https://elsewhere.example")
    with page.expect_response(lambda r: "/embed/thread" in r.url) as answer:
        page.goto(widget.serve())
    assert answer.value.status == 403
    page.wait_for_timeout(300)
    for frame in page.frames:
        assert "Not for this page" not in frame.content()
        assert frame.locator("#parley-comments").count() == 0


# Looks, languages and caching ----------------------------------------------------------------------

def _seed_a_conversation(widget):
    first, _ = widget.comment(
        "What a clear write-up. I tried the **second approach** on a project last year and it held up "
        "well, though the [migration guide](https://example.com/guide) glossed over the edge cases.",
        name="Margaret Hamilton", website="https://example.com/mh")
    reply, _ = widget.comment("Which edge cases did you run into? I'm about to try it myself.",
                              name="Linus", parent=first)
    widget.comment("Mostly time zones. Store UTC, convert at the edges, and test with `TZ=Pacific/Chatham`.",
                   name="Margaret Hamilton", website="https://example.com/mh", parent=reply)
    widget.comment("> Store UTC, convert at the edges\n\nThis is the one rule I wish I'd learned sooner.",
                   name="Grace")
    widget.like(first, 4)
    widget.like(reply, 1)


def test_light_and_dark_themes(widget, browser, artifacts):
    widget.site()
    _seed_a_conversation(widget)
    # Tall enough that Chrome paints the whole cross-origin frame for the element screenshots.
    context = browser.new_context(locale="en-US", viewport={"width": 900, "height": 1800})
    page = context.new_page()

    frame = widget.open(page)
    wait_until(lambda: frame_fits_its_content(page), message="the light widget to settle")
    assert widget_frame(page).evaluate("() => getComputedStyle(document.body).color") == "rgb(30, 30, 30)"
    page.locator("iframe.parley-frame").screenshot(path=str(artifacts / "widget-light.png"))

    frame = widget.open(page, path="/dark", container=f' data-parley-theme="dark" data-parley-url="{widget.page_url}"',
                        body_style="background: #1d2327; color: #e8e8e8;")
    wait_until(lambda: frame_fits_its_content(page), message="the dark widget to settle")
    colours = widget_frame(page).evaluate(
        "() => [getComputedStyle(document.body).color, getComputedStyle(document.documentElement).backgroundColor]")
    assert colours == ["rgb(232, 232, 232)", "rgb(29, 35, 39)"]
    page.locator("iframe.parley-frame").screenshot(path=str(artifacts / "widget-dark.png"))
    page.screenshot(path=str(artifacts / "host-page-dark.png"), full_page=True)

    # A site's accent colour, set with a custom property on its own container, reaches the widget.
    frame = widget.open(page, path="/accent", before="<style>#parley-thread { --parley-accent: #b4451f }</style>")
    expect(frame.locator("#parley-form [type=submit]")).to_have_css("background-color", "rgb(180, 69, 31)")
    context.close()


def test_language_from_the_snippet_or_the_browser(widget, browser):
    widget.site()
    french = browser.new_context(locale="fr-FR")
    frame = widget.open(french.new_page())
    expect(frame.locator("#parley-title")).to_have_text("Aucun commentaire")
    expect(frame.locator("#parley-form [type=submit]")).to_have_text("Laisser un commentaire")
    french.close()

    english = browser.new_context(locale="en-US")
    frame = widget.open(english.new_page(), path="/de", container=' data-parley-lang="de"')
    expect(frame.locator("#parley-title")).to_have_text("Keine Kommentare")
    expect(frame.locator("label[for=parley-email]")).to_have_text("E-Mail *")
    english.close()


def test_returning_reader_downloads_only_the_thread(widget, page):
    widget.site()
    widget.comment("Cached around me")
    url = widget.serve()
    page.goto(url)
    page.frame_locator("iframe.parley-frame").locator("html.is-live").wait_for(state="attached")
    first_visit = widget.server.paths()
    assert any(p.startswith("/embed/v/") for p in first_visit)
    widget.server.requests.clear()

    page.goto("about:blank")
    page.goto(url)
    page.frame_locator("iframe.parley-frame").locator("html.is-live").wait_for(state="attached")
    # Besides the page, only the stream of the thread's changes (the widget opens it once it is live).
    fetched = [p.split("?")[0] for p in widget.server.paths()]
    assert [p for p in fetched if p != "/api/v1/threads/live"] == ["/embed/thread"]


def test_comments_drawn_again_by_the_script_take_faces_from_the_sprite_too(widget, page):
    """A reader who posted sees the thread drawn again for them (sorting, their own view): no request per face."""
    widget.site()
    for name in ("Ada", "Bob", "Cy"):
        widget.comment(f"Words from {name}", name=name)
    frame = widget.open(page)
    fill_guest_form(frame, "And mine.")
    frame.locator("#parley-form .submit").click()
    expect(frame.locator(".comment-content", has_text="And mine.")).to_have_count(1)
    own_face = frame.locator("img.avatar").get_attribute("src")  # posted after the page was made: not in it
    widget.server.requests.clear()
    frame.locator("#parley-sort").select_option("newest")
    wait_until(lambda: widget.server.paths("/api/v1/threads?"), message="the page drawn again for the reader")
    expect(frame.locator(".comment-body").first).to_contain_text("And mine.")
    expect(frame.locator("svg.avatar use")).to_have_count(3)
    assert {p.split("?")[0] for p in widget.server.paths("/api/v1/avatars")} <= {urlsplit(own_face).path}


# A reader's own Chrome ---------------------------------------------------------------------------

def test_reader_chrome_keeps_tokens_in_partitioned_storage(widget, real_chrome):
    """Chromium as readers run it: third-party cookies blocked, the frame's localStorage partitioned."""
    widget.site()
    page = real_chrome.contexts[0].new_page()
    try:
        frame = widget.open(page)
        inner = widget_frame(page)
        assert inner.evaluate(STORAGE_PROBE) == "works"
        set_cookie = "() => { document.cookie = 'probe=1; SameSite=None; Secure'; return document.cookie; }"
        assert inner.evaluate(set_cookie) == ""

        fill_guest_form(frame, "Written in a real browser.", name="Lin", email="lin@example.org")
        # Consent first: "Save my name, email, and website" starts unticked.
        expect(frame.locator("#parley-remember")).not_to_be_checked()
        frame.locator("#parley-remember").check()
        frame.locator("#parley-form [type=submit]").click()
        expect(frame.locator("li.comment [data-action=edit]")).to_have_count(1)
        expect(frame.locator(".parley-notice")).to_be_hidden()

        # Next visit: the reader is still the author (edit link) and their details are remembered.
        page.reload()
        frame = page.frame_locator("iframe.parley-frame")
        frame.locator("html.is-live").wait_for(state="attached")
        expect(frame.locator("li.comment [data-action=edit]")).to_have_count(1)
        expect(frame.locator("#parley-name")).to_have_value("Lin")
        expect(frame.locator("#parley-email")).to_have_value("lin@example.org")
        expect(frame.locator("#parley-remember")).to_be_checked()
        frame.locator("li.comment [data-action=edit]").click()
        frame.locator(".comment-edit textarea").fill("Edited on the second visit.")
        frame.locator(".comment-edit [type=submit]").click()
        expect(frame.locator(".comment-content")).to_have_text("Edited on the second visit.")
    finally:
        page.close()


# Webmentions ----------------------------------------------------------------------------------

def test_a_mention_is_drawn_the_same_by_server_and_script_and_the_loader_names_the_endpoint(open_widget, page):
    from widget import worker
    from widget.extensions import db
    from widget.models import Comment

    widget = open_widget
    widget.site()
    widget.comment("A comment before it", name="Ada")
    widget.pages["/elsewhere"] = (f"<!doctype html><title>Bea &lt;replies&gt;</title>"
                                  f'<p>About <a href="{widget.page_url}">this post</a>.</p>')
    sent = widget.client.post("/webmention/blog", data={"source": f"{widget.host.url}/elsewhere",
                                                        "target": widget.page_url})
    assert sent.status_code == 202, sent.get_data(as_text=True)
    worker.run_pending(widget.app)
    with widget.app.app_context():  # approved as a moderator would (tests/test_webmention.py does it in the dashboard)
        mention = db.session.scalar(db.select(Comment).where(Comment.kind == "mention"))
        mention.status = "approved"
        db.session.commit()

    frame = widget.open(page)
    shown = frame.locator("li.is-mention")
    expect(shown.locator(".comment-mention-intro")).to_have_text("127.0.0.1 mentioned this:")
    expect(shown.locator(".comment-mention-link")).to_have_text("Bea <replies>")
    expect(shown.locator(".comment-mention-link")).to_have_attribute("href", f"{widget.host.url}/elsewhere")
    expect(shown.locator("[data-action=reply], [data-action=like], .comment-content")).to_have_count(0)

    def markup():
        return frame.locator("#parley-comments").evaluate("e => e.innerHTML.replace(/>\\s+</g, '><').trim()")

    from_server = markup()
    frame.locator("#parley-sort").select_option("newest")
    expect(top_level(frame).first).to_have_class(re.compile("is-mention"))
    frame.locator("#parley-sort").select_option("oldest")
    expect(top_level(frame).last).to_have_class(re.compile("is-mention"))
    assert markup() == from_server

    endpoint = page.locator('head link[rel="webmention"]')
    expect(endpoint).to_have_attribute("href", f"{widget.server.url}/webmention/blog")
    # A page that names an endpoint of its own keeps it.
    widget.open(page, path="/own", before='<link rel="webmention" href="https://elsewhere.example/wm">')
    expect(page.locator('link[rel="webmention"]')).to_have_count(1)
    expect(page.locator('link[rel="webmention"]')).to_have_attribute("href", "https://elsewhere.example/wm")
