"""Readers who log in with a provider, their identities, login codes and bearer tokens."""
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Model
from .base import utcnow


class User(Model):
    """A reader who logged in with a provider; one per provider identity, never merged by email."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(String(100))
    avatar_url: Mapped[str | None] = mapped_column(String(500))
    profile_url: Mapped[str | None] = mapped_column(String(500))
    # Kept for notifications only; never used to find or merge accounts.
    email: Mapped[str | None] = mapped_column(String(254))
    # The provider vouched for the email (OpenID Connect's email_verified): its notifications need no confirming.
    email_verified: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime] = mapped_column(default=utcnow)

    identity: Mapped["Identity"] = relationship(back_populates="user", uselist=False)

    # Flask-Login's user protocol.
    is_active = True
    is_authenticated = True
    is_anonymous = False

    def get_id(self):
        return str(self.id)


class Identity(Model):
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


class LoginCode(Model):
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


class AuthToken(Model):
    """A bearer token of the widget: random, stored only as its hash, expiring, revocable."""

    __tablename__ = "auth_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User] = relationship()
