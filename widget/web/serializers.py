"""The one way each resource leaves the server: allow-listed fields, never an email or IP.

Each returns the shape web/schema.py defines for it, which the API document states.
"""
from urllib.parse import urlsplit

from flask import current_app, g

from .. import remote_avatars, tree
from ..comments import edit_window_open, thread_is_closed
from ..tokens import keyed_hash
from .public_url import public_url_for
from .schema import AuthorJSON, CommentJSON, RepliesPageJSON, SourceJSON, ThreadJSON, ThreadPageJSON, UserJSON


def iso(moment):
    return moment.isoformat(timespec="seconds") + "Z" if moment else None


def avatar_seed(comment):
    # Drawn from who wrote it (their account, or a guest's browser), never from the email they typed:
    # typing someone's address must not give their face. Keyed with the server's secret, so the URL
    # reveals nothing either.
    if comment.user_id is not None:
        who = f"user:{comment.user_id}"
    else:
        who = f"reader:{comment.reader_key}" if comment.reader_key else f"comment:{comment.id}"
    return keyed_hash(current_app.secret_key, who)[:32]


def avatar_url(comment, site=None):
    service = site.avatar_service if site is not None else None
    if service and comment.user_id is None and comment.author_email:
        # The site chose a picture service: this server fetches it, under a name that hides the email.
        key = remote_avatars.key_for(current_app.secret_key, service, comment.author_email)
        return public_url_for("api.comment_avatar", comment_id=comment.id, k=key)
    if "avatar_url_template" not in g:  # building the URL once per request keeps big threads cheap
        g.avatar_url_template = public_url_for("api.avatar", seed="SEED")
    return g.avatar_url_template.replace("SEED", avatar_seed(comment))


def author_json(comment, badge=None, site=None) -> AuthorJSON:
    if comment.status == "deleted":
        return {"name": None, "website": None, "avatar_url": None, "provider": None, "badge": None}
    return {
        "name": comment.author_name,
        "website": comment.author_website,
        "avatar_url": comment.author_avatar_url or avatar_url(comment, site),
        "provider": comment.provider,
        # Only a logged-in account can carry one: a guest's typed name never does.
        "badge": badge,
    }


def source_json(comment) -> SourceJSON | None:
    """The page a mention comes from; its title is the mention's body, kept as plain text."""
    if comment.kind != "mention" or comment.status == "deleted" or not comment.source_url:
        return None
    return {"url": comment.source_url, "host": urlsplit(comment.source_url).hostname or "", "title": comment.body}


def comment_json(comment, site, viewer, liked, now, badges) -> CommentJSON:
    """The comment alone, with no replies yet; `badges` is comments.staff_badges() of its thread."""
    can_edit = viewer.wrote(comment) and comment.status != "deleted" and edit_window_open(site, comment, now)
    badge = badges.get(comment.user_id) if comment.user_id is not None else None
    shown: CommentJSON = {
        "id": comment.id,
        "parent_id": comment.parent_id,
        "depth": comment.depth,
        "author": author_json(comment, badge, site),
        "html": comment.html,
        "created_at": iso(comment.created_at),
        "edited_at": iso(comment.edited_at),
        "likes": comment.likes,
        "liked_by_me": liked,
        # Its author sees a comment filed as spam as held: it waits for a moderator either way.
        "status": "pending" if comment.status == "spam" else comment.status,
        "can_edit": can_edit,
        "pinned": comment.pinned,
        "edited_by_moderator": comment.edited_by_moderator,
        "replies": [],
        "in_reply_to": None,
        "kind": comment.kind,
        "source": source_json(comment),
    }
    if can_edit:
        # The author's own Markdown, so they can edit it from any browser they are logged in on.
        shown["body"] = comment.body
    return shown


def thread_json(site, thread, url, count, now) -> ThreadJSON:
    if thread is None:
        return {"id": None, "url": url, "title": None, "locked": False, "comment_count": 0}
    return {
        "id": thread.id,
        "url": thread.url or url,
        "title": thread.title,
        "locked": thread.locked or thread_is_closed(site, thread, now),
        "comment_count": count,
    }


def page_json(site, page, url, viewer, now) -> ThreadPageJSON:
    rows = [comment_json(c, site, viewer, c.id in page.liked_ids, now, page.badges) for c in page.comments]
    top = tree.prune_deleted(tree.build_tree(rows, site.max_depth), keep=page.more_replies.keys())
    for node in top:
        # "Show N more replies": a top-level comment whose replies did not all fit on the page.
        node["more_replies"], node["replies_cursor"] = page.more_replies.get(node["id"], (0, None))
    return {
        "thread": thread_json(site, page.thread, url, page.comment_count, now),
        "comments": top,
        "next_cursor": page.next_cursor,
    }


def with_reader_parts(page: ThreadPageJSON, parts) -> ThreadPageJSON:
    """The public page as one reader sees it: their likes, and edit links on their comments still in the window.

    Only for a reader with nothing held in the thread (parts.waiting false): the public page already
    holds every comment they can see.
    """
    def lay_over(comments):
        for shown in comments:
            shown["liked_by_me"] = shown["id"] in parts.liked
            body = parts.editable.get(shown["id"])
            if body is not None and shown["status"] != "deleted":
                shown["can_edit"], shown["body"] = True, body
            lay_over(shown["replies"])

    lay_over(page["comments"])
    return page


def replies_json(site, page, viewer, now) -> RepliesPageJSON:
    """The next replies under a top-level comment, flat and oldest first; each says where it goes.

    A reply deeper than the site's deepest level shows at that level and names whom it answers,
    as in a thread page; the widget places each one under its parent (or that parent's holder).
    """
    replies = []
    for reply in page.replies:
        shown = comment_json(reply, site, viewer, reply.id in page.liked_ids, now, page.badges)
        parent = page.parents.get(reply.parent_id)
        if reply.depth > site.max_depth and parent is not None:
            shown["in_reply_to"] = {"id": parent.id, "author": author_json(parent)["name"]}
        replies.append(shown)
    return {"comments": replies, "more_replies": page.remaining, "next_cursor": page.next_cursor}


def user_json(user, provider) -> UserJSON:
    """The logged-in reader as the widget shows them; never their email."""
    return {
        "id": user.id,
        "name": user.display_name,
        "avatar_url": user.avatar_url,
        "profile_url": user.profile_url,
        "provider": provider.name if provider else None,
        "provider_label": provider.label if provider else None,
        "has_email": bool(user.email),
    }
