// Comments as DOM: a clone of the server's own <template> rendering, filled with textContent.
// Only the comment's `html`, which the server sanitised, is inserted as markup.
import { formatDate, t, tn } from "./i18n.js";

/** Remove an element and the blank text before it, so a clone matches the server's markup. */
function drop(element) {
  const before = element.previousSibling;
  if (before?.nodeType === Node.TEXT_NODE && !before.data.trim()) before.remove();
  element.remove();
}

export function localiseDates(root) {
  for (const time of root.querySelectorAll("time[datetime]")) time.textContent = formatDate(time.dateTime);
}

export function setLikes(li, likes, liked) {
  const article = li.querySelector(":scope > .comment-body");
  article.querySelector('[data-action="like"]')?.setAttribute("aria-pressed", String(liked));
  const count = article.querySelector(".comment-likes");
  if (!count) return;
  count.textContent = tn("comment.likes", likes);
  count.hidden = likes === 0;
}

export function createRenderer({ pageUrl, canPost, editable }) {
  const proto = document.getElementById("parley-comment-template").content.firstElementChild;

  function fillAuthor(article, author) {
    const avatar = article.querySelector(".avatar");
    // A generated face already drawn in the page's sprite is used from there, not fetched again.
    const face = `avatar-${author.avatar_url?.match(/([0-9a-f]{32})\.svg$/)?.[1]}`;
    if (document.getElementById(face)) {
      const drawn = document.getElementById("parley-face-template").content.firstElementChild.cloneNode(true);
      drawn.firstElementChild.setAttribute("href", `#${face}`);
      avatar.replaceWith(drawn);
    } else {
      avatar.src = author.avatar_url;
    }
    const name = article.querySelector(".comment-author");
    if (author.website) {
      const link = name.firstElementChild;
      link.href = author.website;
      link.textContent = author.name;
    } else {
      name.replaceChildren(author.name);
    }
    const badge = article.querySelector(".comment-badge");
    if (author.badge) badge.textContent = t(`badge.${author.badge}`);
    else drop(badge);
  }

  function fillMeta(article, c) {
    const permalink = article.querySelector(".comment-permalink");
    permalink.href = `${pageUrl}#comment-${c.id}`;
    const time = permalink.firstElementChild;
    time.dateTime = c.created_at;
    time.textContent = formatDate(c.created_at);
    if (!c.edited_at) drop(article.querySelector(".comment-edited"));
    const inReplyTo = article.querySelector(".comment-in-reply-to");
    if (c.in_reply_to) {
      const link = inReplyTo.firstElementChild;
      link.href = `#comment-${c.in_reply_to.id}`;
      link.textContent = c.in_reply_to.author
        ? t("comment.in_reply_to", { name: c.in_reply_to.author })
        : t("comment.in_reply_to_deleted");
    } else {
      drop(inReplyTo);
    }
    if (c.status !== "pending") drop(article.querySelector(".comment-awaiting-moderation"));
  }

  /** A mention shows the page that links here in place of a body: its host, and its title as a link. */
  function fillMention(article, c) {
    const mention = article.querySelector(".comment-mention");
    if (c.kind !== "mention" || !c.source) {
      drop(mention);
      article.querySelector(".comment-content").innerHTML = c.html;
      return;
    }
    mention.querySelector(".comment-mention-intro").textContent = t("comment.mentioned", { host: c.source.host });
    const link = mention.querySelector("a");
    link.href = c.source.url;
    link.textContent = c.source.title;
    drop(article.querySelector(".comment-content"));
  }

  function fillActions(li, article, c) {
    // A mention's author is on their own site and answers there: no reply, like or edit here.
    const approved = c.status === "approved" && c.kind !== "mention";
    const reply = article.querySelector('[data-action="reply"]');
    if (approved && canPost) reply.setAttribute("aria-label", t("comment.reply_to", { name: c.author.name }));
    else drop(reply);
    if (approved) {
      setLikes(li, c.likes, c.liked_by_me);
    } else {
      drop(article.querySelector('[data-action="like"]'));
      drop(article.querySelector(".comment-likes"));
    }
    if (!editable(c)) {
      drop(article.querySelector('[data-action="edit"]'));
      drop(article.querySelector('[data-action="delete"]'));
    }
  }

  function fill(li, c) {
    li.id = `comment-${c.id}`;
    li.className = `comment depth-${c.depth}${c.status === "pending" ? " is-pending" : ""}${c.status === "deleted" ? " is-deleted" : ""}${c.kind === "mention" ? " is-mention" : ""}`;
    li.dataset.id = c.id;
    const article = li.querySelector(".comment-body");
    if (c.status === "deleted") {
      article.replaceChildren(article.querySelector(".comment-deleted"));
      return;
    }
    drop(article.querySelector(".comment-deleted"));
    fillAuthor(article, c.author);
    fillMeta(article, c);
    fillMention(article, c);
    fillActions(li, article, c);
  }

  function children(replies) {
    const list = document.createElement("ol");
    list.className = "children";
    list.append(...replies.map(comment));
    return list;
  }

  /** A comment and its replies as an <li>. */
  function comment(c) {
    const li = proto.cloneNode(true);
    fill(li, c);
    if (c.replies?.length) li.append(children(c.replies));
    if (c.more_replies) li.append(moreReplies(c.more_replies, c.replies_cursor));
    return li;
  }

  /** "Show N more replies" under a top-level comment whose replies did not all fit on the page. */
  function moreReplies(n, cursor) {
    const p = document.createElement("p");
    const button = document.createElement("button");
    p.className = "comment-more-replies";
    Object.assign(button, { type: "button", className: "button-secondary", textContent: tn("more.replies", n) });
    button.dataset.action = "more-replies";
    button.dataset.cursor = cursor;
    p.append(button);
    return p;
  }

  /** Redraw one comment in place (after an edit, a delete or a change of rights), keeping its replies. */
  function redraw(li, c) {
    const fresh = comment({ ...c, replies: [] });
    li.className = fresh.className;
    li.querySelector(":scope > .comment-body").replaceWith(fresh.querySelector(".comment-body"));
  }

  return { comment, redraw, children };
}
