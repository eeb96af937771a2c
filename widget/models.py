"""The stored data: sites, threads, comments and likes."""
from datetime import datetime, timezone

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db


def utcnow():
    return datetime.now(timezone.utc).replace(tzinfo=None)


MODERATION_MODES = ("none", "first-time", "all")
COMMENT_STATUSES = ("approved", "pending", "spam", "deleted")


class Site(db.Model):
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


class Thread(db.Model):
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
    # Bumped by every write to the thread; the read ETag is derived from it.
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    site: Mapped[Site] = relationship()


class Comment(db.Model):
    __tablename__ = "comments"
    __table_args__ = (
        Index("ix_comments_thread_parent", "thread_id", "parent_id"),
        Index("ix_comments_thread_root", "thread_id", "root_id"),
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

    thread: Mapped[Thread] = relationship()


class Vote(db.Model):
    __tablename__ = "votes"
    __table_args__ = (UniqueConstraint("comment_id", "voter"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"), index=True)
    voter: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(db.Model):
    """A reader who logged in with a provider; one per provider identity, never merged by email."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(String(100))
    avatar_url: Mapped[str | None] = mapped_column(String(500))
    profile_url: Mapped[str | None] = mapped_column(String(500))
    # Kept for notifications only; never used to find or merge accounts.
    email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime] = mapped_column(default=utcnow)

    identity: Mapped["Identity"] = relationship(back_populates="user", uselist=False)

    # Flask-Login's user protocol.
    is_active = True
    is_authenticated = True
    is_anonymous = False

    def get_id(self):
        return str(self.id)


class Identity(db.Model):
    """(issuer or provider, subject): how a provider names the person, the only key we trust."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("realm", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    # The OpenID Connect issuer URL, or the provider name for plain OAuth 2.0 providers.
    realm: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(255))
    provider: Mapped[str] = mapped_column(String(40))

    user: Mapped[User] = relationship(back_populates="identity")


class LoginCode(db.Model):
    """The one-time result of a login popup, bound to the hash of the iframe's secret."""

    __tablename__ = "login_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Set instead of user_id when the login failed: the iframe learns why by its secret.
    error: Mapped[str | None] = mapped_column(String(40))
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()


class AuthToken(db.Model):
    """A bearer token of the widget: random, stored only as its hash, expiring, revocable."""

    __tablename__ = "auth_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User] = relationship()
