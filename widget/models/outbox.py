"""Work done after the request that caused it: emails, webhook deliveries, Webmention checks,
and who asked to be told of what."""
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Model
from .base import utcnow
from .sites import Comment, Site, Thread

JOB_STATUSES = ("queued", "done", "failed")
ALERT_MODES = ("each", "daily", "off")
WEBHOOK_EVENTS = ("comment.created", "comment.approved", "comment.deleted")


class Job(Model):
    """One piece of outgoing work, written in the transaction that caused it and done by a sender.

    A sender claims a job by setting `locked_until` in one conditional UPDATE, so two senders never
    run the same job at once; a sender that dies leaves the claim to lapse and the job to be retried.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_run_at", "status", "run_at"),
                      Index("ix_outbox_site_kind", "site_id", "kind"))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    payload: Mapped[dict] = mapped_column(JSON)
    # A job that must happen once however often its cause repeats ("one email per reader per comment").
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    run_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column()
    locked_by: Mapped[str | None] = mapped_column(String(64))
    # What the last attempt gave: "sent", "HTTP 200", or why it failed.
    result: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()


class Recipient(Model):
    """An email address that asked for notifications; none is sent before it is confirmed."""

    __tablename__ = "mail_recipients"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # lower-cased
    language: Mapped[str] = mapped_column(String(8), default="en")
    confirmed_at: Mapped[datetime | None] = mapped_column()
    # When the last confirmation email went out: one a day at most, so nobody is mail-bombed through us.
    confirmation_sent_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Mailbox(Model):
    """A mailbox that was sent a confirmation request lately, by a keyed hash of its address as
    emails.mailbox spells it: however many spellings of it are typed, it gets one a day."""

    __tablename__ = "mailboxes"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    confirmation_sent_at: Mapped[datetime] = mapped_column(index=True)


class Subscription(Model):
    """A recipient's wish to hear of replies to one comment ("replies") or of every comment on a page ("thread")."""

    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscriptions_thread_kind", "thread_id", "kind"),
                      UniqueConstraint("recipient_id", "target"))

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("mail_recipients.id", ondelete="CASCADE"), index=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    # "c:<comment id>" or "t:<thread id>": unique per recipient, so a wish is stored once.
    target: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    recipient: Mapped[Recipient] = relationship()
    thread: Mapped[Thread] = relationship()
    comment: Mapped[Comment | None] = relationship()


class UsedLink(Model):
    """The nonce of a single-use link from an email (approve, mark as spam) once it was used."""

    __tablename__ = "used_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    used_at: Mapped[datetime] = mapped_column(default=utcnow)


class Webhook(Model):
    """A URL of the owner's told of a site's comment events by a signed JSON POST."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    site: Mapped[Site] = relationship()

