"""The stored data: sites, threads, comments and likes."""
import re
from datetime import datetime, timezone

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db


def utcnow():
    return datetime.now(timezone.utc).replace(tzinfo=None)


# Ids are PostgreSQL integers: a larger one cannot exist, and asking the database for it is an error.
MAX_ID = 2**31 - 1
# ASCII digits only: str.isdigit() also takes "²" and "٣", which int() then refuses.
_WHOLE_NUMBER = re.compile(r"[0-9]{1,10}")


def parse_id(value, high=MAX_ID):
    """A whole number from 1 to `high` written in ASCII digits, or None for anything else."""
    if not isinstance(value, str) or not _WHOLE_NUMBER.fullmatch(value):
        return None
    number = int(value)
    return number if 1 <= number <= high else None
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
    # What happens to a banned author's new comment: "refuse" it, or "hold" it for review.
    ban_action: Mapped[str] = mapped_column(String(10), default="refuse", server_default="refuse")
    # Names only the site's staff may comment under (besides the built-in ones and the staff's own).
    reserved_names: Mapped[list[str] | None] = mapped_column(JSON, default=None)


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
    # Who wrote the page: their comments carry a "post author" badge. Set from the dashboard.
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)

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
    # Shown above the other top-level comments of its thread, in every sort.
    pinned: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The last change to the body was a moderator's, not the author's.
    edited_by_moderator: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Why a comment waits in the moderation queue (moderation mode, first comment, a ban, a spam check).
    held_reasons: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    # Keyed hash of the poster's IP address (never the address itself), for IP bans.
    ip_hash: Mapped[str | None] = mapped_column(String(64), default=None)

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
    # Hash of the code the popup shows for the reader to type where the popup lost its opener.
    pairing_hash: Mapped[str | None] = mapped_column(String(64))
    pairing_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
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


# Dashboard: who may moderate which site, bans, and the audit log ----------------------------

SITE_ROLES = ("owner", "moderator")
BAN_KINDS = ("user", "email", "ip")
BAN_ACTIONS = ("refuse", "hold")


class DashboardAccount(db.Model):
    """A user who may sign in to the dashboard: an administrator, or an invited owner or moderator."""

    __tablename__ = "dashboard_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    # The password login's name, lower-cased; None for an account that only logs in with a provider.
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(default=False)
    # Stored in the session at login; bumping it ends every session of the account.
    session_epoch: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User] = relationship()


class Membership(db.Model):
    """A user's role on one site: owner or moderator."""

    __tablename__ = "site_members"
    __table_args__ = (UniqueConstraint("site_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    site: Mapped[Site] = relationship()
    user: Mapped[User] = relationship()


class Invitation(db.Model):
    """A one-time link that makes whoever opens it an owner or moderator of a site."""

    __tablename__ = "site_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Who it is meant for, in the inviter's words (a name or an address); not checked.
    note: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    accepted_at: Mapped[datetime | None] = mapped_column()
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column()

    site: Mapped[Site] = relationship()


class Ban(db.Model):
    """A site's ban of a user, an email address or an IP address; addresses are kept as keyed hashes."""

    __tablename__ = "bans"
    __table_args__ = (Index("ix_bans_site_kind_value", "site_id", "kind", "value_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    value_hash: Mapped[str | None] = mapped_column(String(64))
    # How the dashboard names the banned author: a public display name, never the address.
    label: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column()
    lifted_at: Mapped[datetime | None] = mapped_column()
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])


class AuditEntry(db.Model):
    """One moderator action: who did what to which thing, when, with the state before and after."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_site_created", "site_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The actor's name at the time, so the entry still reads right if the account goes.
    actor_name: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    target_type: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[int | None] = mapped_column()
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginFailure(db.Model):
    """A failed dashboard login, keyed by a hash of the address or the account tried, for rate limiting."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
