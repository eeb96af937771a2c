"""A site, its threads (one per page), their comments and the likes on them."""
import hashlib
from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from ..extensions import Model
from .base import utcnow

MODERATION_MODES = ("none", "first-time", "all")
COMMENT_STATUSES = ("approved", "pending", "spam", "deleted")


class Site(Model):
    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    guests_allowed: Mapped[bool] = mapped_column(default=True)
    # None means every provider the server has configured.
    providers: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    moderation: Mapped[str] = mapped_column(String(20), default="none")
    edit_window_minutes: Mapped[int] = mapped_column(default=15)
    max_depth: Mapped[int] = mapped_column(default=5)
    close_after_days: Mapped[int | None] = mapped_column(default=None)
    max_body_length: Mapped[int] = mapped_column(default=10_000)
    max_links: Mapped[int] = mapped_column(default=10)
    notify_email: Mapped[str | None] = mapped_column(String(254), default=None)
    privacy_url: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # What happens to a banned author's new comment: "refuse" it, or "hold" it for review.
    ban_action: Mapped[str] = mapped_column(String(10), default="refuse", server_default="refuse")
    # Names only the site's staff may comment under (besides the built-in ones and the staff's own).
    reserved_names: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    # Comments one address may post here per hour, tighter than the server's limit; None for the server's.
    comments_per_hour: Mapped[int | None] = mapped_column(default=None)
    # Block lists: a comment that matches one is filed as spam (words also match the name and email).
    blocked_words: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    blocked_emails: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    blocked_domains: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    blocked_networks: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    # The site's own Akismet API key: with one, every new comment is also checked by Akismet.
    akismet_key: Mapped[str | None] = mapped_column(String(64), default=None)
    # How many approved and spam comments the site's moderators have taught its spam filter.
    filter_ham: Mapped[int] = mapped_column(default=0, server_default="0")
    filter_spam: Mapped[int] = mapped_column(default=0, server_default="0")
    # How moderators hear of comments waiting for review: an email "each" time, a "daily" digest, or "off".
    moderator_alerts: Mapped[str] = mapped_column(String(10), default="each", server_default="each")
    # The key webhook deliveries are signed with (Standard Webhooks: "whsec_" and base64); made on first use.
    webhook_secret: Mapped[str | None] = mapped_column(String(80), default=None)
    # Guests' avatars from "gravatar" or "libravatar" by their email, fetched by this server; None: generated only.
    avatar_service: Mapped[str | None] = mapped_column(String(12), default=None)
    # What an owner serves at an origin's /.well-known/parley-site-verification.txt to prove it is theirs, when
    # another site already has that origin (OriginClaim); made on first need.
    verification_token: Mapped[str | None] = mapped_column(String(64), default=None)


class RefusedOrigin(Model):
    """A page origin that tried to show a site's comments and was refused: what the dashboard offers to add."""

    __tablename__ = "refused_origins"
    __table_args__ = (UniqueConstraint("site_id", "origin"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    origin: Mapped[str] = mapped_column(String(200))
    times: Mapped[int] = mapped_column(default=1)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)


# How a site came to have an origin: "listed" when no other owner's site had its host then; by "proof" served on
# it, or granted by an "administrator". Only a listed one is taken back when another site proves the origin.
ORIGIN_GRANTS = ("listed", "proof", "administrator")


class SiteOrigin(Model):
    """One of a site's allowed origins (Site.origins, which requests read, lists the same ones in order), with its
    host, to find every site on a host by index, and how it was granted."""

    __tablename__ = "site_origins"
    __table_args__ = (UniqueConstraint("site_id", "origin"), Index("ix_site_origins_host", "host"))

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    origin: Mapped[str] = mapped_column(String(200))
    # urls.host_key: the same for every scheme, port and spelling of the host.
    host: Mapped[str] = mapped_column(String(255))
    how: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OriginClaim(Model):
    """An origin a site asked for that another site already has: not used for anything (CORS, frames, messages,
    Webmentions, writes) until the site's owner proves the origin is theirs, or an administrator grants it."""

    __tablename__ = "origin_claims"
    __table_args__ = (UniqueConstraint("site_id", "origin"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    origin: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The last proof tried, and why it failed (the file not found, another token in it, the host unreachable).
    checked_at: Mapped[datetime | None] = mapped_column(default=None)
    problem: Mapped[str | None] = mapped_column(String(300), default=None)


class AvatarImage(Model):
    """A guest's picture fetched from an avatar service, kept a while; `body` None: the service has none."""

    __tablename__ = "avatar_images"

    # Keyed hash of the service and the email: the one name the picture has here.
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    body: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    mimetype: Mapped[str | None] = mapped_column(String(40), default=None)
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ImportBatch(Model):
    """One run of an import into a site: what it added can be listed and taken back (`import undo`)."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # wordpress, disqus, isso, remark42, json; or "earlier"
    source: Mapped[str] = mapped_column(String(300))  # the file's name, as the owner knows it
    run_by: Mapped[str] = mapped_column(String(200))  # who ran it: "command line", or the dashboard account's name
    options: Mapped[dict | None] = mapped_column(JSON, default=None)  # map_url, pingbacks, base_url
    summary: Mapped[dict | None] = mapped_column(JSON, default=None)  # ImportSummary.as_dict() once it ended
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(default=None)


class Thread(Model):
    __tablename__ = "threads"
    __table_args__ = (UniqueConstraint("site_id", "key"), Index("ix_threads_site_url_hash", "site_id", "url_hash"))

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    # SHA-256 of "id:<explicit thread id>" or "url:<normalised page url>": one page, one thread.
    # Hashes keep index entries small whatever the URL (PostgreSQL caps a btree entry near 2.7 kB).
    key: Mapped[str] = mapped_column(String(64))
    url: Mapped[str | None] = mapped_column(String(2048))
    url_hash: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(String(300))
    locked: Mapped[bool] = mapped_column(default=False)
    # Bumped by every write to the thread that readers see; the read ETag is derived from it. 0 while nothing on
    # it was ever published: readers cannot tell it from no thread at all (comments.readers_thread).
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Who wrote the page: their comments carry a "post author" badge. Set from the dashboard.
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    # The import that made the thread: undoing it removes the thread too, if nothing else is left on it.
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id", ondelete="SET NULL"),
                                                        default=None)

    site: Mapped[Site] = relationship()


def body_digest(body):
    """What the duplicate check looks up a body by: its text without surrounding space, hashed."""
    return hashlib.sha256(body.strip().encode()).hexdigest()[:32] if body is not None else None


class Comment(Model):
    __tablename__ = "comments"
    __table_args__ = (
        Index("ix_comments_thread_parent", "thread_id", "parent_id"),
        Index("ix_comments_thread_root", "thread_id", "root_id"),
        Index("ix_comments_thread_created", "thread_id", "created_at"),
        # One row per comment brought from elsewhere, per site: an import run twice adds nothing, even when
        # its pages are mapped to other addresses the second time.
        UniqueConstraint("import_site_id", "import_key", name="uq_comments_site_import_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    # Top-level ancestor (itself for a top-level comment): a page of top-level comments
    # and all their replies is then one query, whatever the depth.
    root_id: Mapped[int | None] = mapped_column()
    depth: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(20), default="approved")
    body: Mapped[str] = mapped_column(Text)
    # body_digest(body), kept with every body written: the spam check for a text posted again finds it by
    # index instead of comparing it with every recent comment of the site.
    body_digest: Mapped[str | None] = mapped_column(String(32), index=True)
    html: Mapped[str] = mapped_column(Text)
    author_name: Mapped[str | None] = mapped_column(String(100))
    author_email: Mapped[str | None] = mapped_column(String(254))
    author_website: Mapped[str | None] = mapped_column(String(500))
    # The logged-in author, if any; author_name and author_website then copy their profile.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    author_avatar_url: Mapped[str | None] = mapped_column(String(500))
    provider: Mapped[str | None] = mapped_column(String(40))
    # The anonymous reader (signed reader token) who wrote it: lets them see it while pending.
    reader_key: Mapped[str | None] = mapped_column(String(64), index=True)
    # What the author asked to be told of: "replies", "all" or nothing.
    notify: Mapped[str | None] = mapped_column(String(10), default=None)
    likes: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(default=None)
    # Shown above the other top-level comments of its thread, in every sort.
    pinned: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The last change to the body was a moderator's, not the author's.
    edited_by_moderator: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Why a comment waits in the moderation queue (moderation mode, first comment, a ban, a spam check).
    held_reasons: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    # Keyed hash of the poster's IP address (never the address itself), for IP bans.
    ip_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    # What the spam pipeline decided (publish, hold or spam) and how spam-like it found the comment,
    # from 0 to 1; its reasons are held_reasons. None for comments from before the pipeline.
    verdict: Mapped[str | None] = mapped_column(String(10), default=None)
    spam_score: Mapped[float | None] = mapped_column(Float, default=None)  # as migration 0007 made it
    # What Akismet was told when it checked the comment (its IP address included), so that a
    # moderator's overrule can be reported with the same data, as Akismet asks. Only on sites using it.
    akismet_sent: Mapped[dict | None] = mapped_column(JSON, default=None)
    # What the site's spam filter was taught this comment is ("ham" or "spam"), so a change of mind
    # replaces the lesson rather than adding a second one.
    trained_as: Mapped[str | None] = mapped_column(String(4), default=None)
    # "mention" for a Webmention: another page that links here. Its body is the source's title and
    # source_url the page; it has no author email and is never a reply.
    kind: Mapped[str] = mapped_column(String(10), default="comment", server_default="comment")
    source_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    # An imported comment's kind of export, the digest of the source the file names and its id there
    # ("wordpress@3f2a9c1e0b44:1234"; "wordpress:1234" from a file that names none, or from before sources were
    # kept), with "#<when and by whom>" after it where another source's comment of that id holds the key
    # (imports._Writer._store). None for one posted here.
    import_key: Mapped[str | None] = mapped_column(String(200), default=None)
    # An imported comment's site (its thread's), which its import_key is unique in; and the import that added it.
    import_site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), default=None)
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id", ondelete="SET NULL"),
                                                        default=None, index=True)

    # The page title a comment came with while it waited, on a page that had none: it becomes the page's title
    # only if the comment is published (comments.name_page), never while readers may not see the comment.
    page_title: Mapped[str | None] = mapped_column(String(300), default=None)
    # When the site's moderators were told that it waits: by its own alert, or by a summary or digest that
    # counted it (notifications.fan_out_held). None while nobody was.
    moderators_told_at: Mapped[datetime | None] = mapped_column(default=None)

    thread: Mapped[Thread] = relationship()

    @validates("body")
    def _digest_body(self, _key, body):
        self.body_digest = body_digest(body)
        return body


class Vote(Model):
    __tablename__ = "votes"
    __table_args__ = (UniqueConstraint("comment_id", "voter"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"), index=True)
    voter: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FilterToken(Model):
    """In how many of a site's approved and spam comments a token appeared: what its spam filter learned."""

    __tablename__ = "filter_tokens"
    __table_args__ = (UniqueConstraint("site_id", "token"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(String(300))
    ham: Mapped[int] = mapped_column(default=0)
    spam: Mapped[int] = mapped_column(default=0)


class SpentFormToken(Model):
    """The nonce of a form token a comment was stored with: each token is good for one comment."""

    __tablename__ = "spent_form_tokens"

    nonce: Mapped[str] = mapped_column(String(32), primary_key=True)
    # Past this the token is refused as too old anyway, and its row can go.
    expires_at: Mapped[datetime] = mapped_column(index=True)
