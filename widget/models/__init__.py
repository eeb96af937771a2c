"""The stored data, one module per aggregate; import models from here."""
from .base import MAX_ID, fixed_defaults, parse_id, utcnow
from .outbox import (
                     ALERT_MODES,
                     JOB_STATUSES,
                     WEBHOOK_EVENTS,
                     Job,
                     Mailbox,
                     Recipient,
                     Subscription,
                     UsedLink,
                     Webhook,
)
from .readers import AuthToken, Identity, LoginCode, User
from .sites import (
                    COMMENT_STATUSES,
                    MODERATION_MODES,
                    ORIGIN_GRANTS,
                    AvatarImage,
                    Comment,
                    FilterToken,
                    ImportBatch,
                    OriginClaim,
                    RefusedOrigin,
                    Site,
                    SiteOrigin,
                    SpentFormToken,
                    Thread,
                    Vote,
                    body_digest,
)
from .staff import (
                    BAN_ACTIONS,
                    BAN_KINDS,
                    SITE_ROLES,
                    AuditEntry,
                    Ban,
                    DashboardAccount,
                    Invitation,
                    LoginFailure,
                    Membership,
)

__all__ = [
    "MAX_ID", "fixed_defaults", "parse_id", "utcnow",
    "AuthToken", "Identity", "LoginCode", "User",
    "COMMENT_STATUSES", "MODERATION_MODES", "ORIGIN_GRANTS", "AvatarImage", "Comment", "FilterToken", "ImportBatch",
    "OriginClaim", "RefusedOrigin", "Site", "SiteOrigin", "SpentFormToken", "Thread", "Vote", "body_digest",
    "BAN_ACTIONS", "BAN_KINDS", "SITE_ROLES", "AuditEntry", "Ban", "DashboardAccount", "Invitation", "LoginFailure",
    "Membership",
    "ALERT_MODES", "JOB_STATUSES", "WEBHOOK_EVENTS", "Job", "Mailbox", "Recipient", "Subscription", "UsedLink",
    "Webhook",
]
