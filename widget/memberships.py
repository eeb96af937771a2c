"""Who may do what on which site: roles, invitations, and the checks every dashboard action passes."""
import secrets
from datetime import timedelta

from sqlalchemy import and_, bindparam, or_, update
from sqlalchemy.exc import IntegrityError

from . import audit, sites
from .errors import Conflict, InvalidInput, NotAllowed, NotFound
from .extensions import db, run_core
from .models import SITE_ROLES, DashboardAccount, Invitation, Membership, Site, User, utcnow
from .staff import account_of, ensure_account
from .tokens import digest

# Each role can do what the roles below it can.
RANK = {"moderator": 1, "owner": 2, "admin": 3}
# What an action needs: moderating comments, threads and authors; or managing the site itself.
NEEDS = {"moderate": "moderator", "manage": "owner"}
ROLE_LABELS = {"admin": "Administrator", "owner": "Owner", "moderator": "Moderator"}


def role_on(account, site):
    """"admin", "owner", "moderator" or None: the dashboard account's strongest role on the site."""
    if account is None or site is None:
        return None
    if account.is_admin:
        return "admin"
    return db.session.scalar(db.select(Membership.role).where(Membership.site_id == site.id,
                                                              Membership.user_id == account.user_id))


def require(account, site, need):
    """The account's role if it allows `need` ("moderate" or "manage") on the site, else raise.

    A site the user has no role on is answered as if it did not exist, so ids cannot be probed.
    """
    role = role_on(account, site)
    if role is None:
        raise NotFound(f"no site with id {site.public_id!r}", code="unknown_site")
    if RANK[role] < RANK[NEEDS[need]]:
        raise NotAllowed(f"this needs the {NEEDS[need]} role on {site.name}; you are a {role}",
                         code="role_required")
    return role


# Built once: on every post's path, building a statement costs SQLAlchemy more than the database's run of it.
_STAFF = (db.select(User.id, User.display_name, Membership.role, DashboardAccount.is_admin)
          .outerjoin(Membership, and_(Membership.user_id == User.id, Membership.site_id == bindparam("site_id")))
          .outerjoin(DashboardAccount, DashboardAccount.user_id == User.id)
          .where(or_(Membership.id.is_not(None), DashboardAccount.is_admin.is_(True))))


def staff(site):
    """{user id: (role, display name)} of everyone who runs the site: its members, and the administrators."""
    rows = run_core(_STAFF, {"site_id": site.id})
    # A member's role on this site says more than being an administrator of every site.
    return {user_id: (role or "admin", name) for user_id, name, role, _ in rows}


def sites_for(account):
    """[(site, role)] of every site the dashboard account may open, by name."""
    if account is None:
        return []
    if account.is_admin:
        return [(site, "admin") for site in db.session.scalars(db.select(Site).order_by(Site.name, Site.id))]
    rows = db.session.execute(
        db.select(Site, Membership.role).join(Membership, Membership.site_id == Site.id)
        .where(Membership.user_id == account.user_id).order_by(Site.name, Site.id)
    ).all()
    return [(site, role) for site, role in rows]


def can_add_sites(account):
    """Administrators and owners register sites; moderators only moderate."""
    return account is not None and (
        account.is_admin or any(RANK[role] >= RANK["owner"] for _, role in sites_for(account)))


def add_site(actor, public_id, name, origins, now=None):
    """Register a site (sites.create_site) and make the one who added it its owner, in one transaction.

    `actor` None is the command line: the server's operator, who needs no role and takes none.
    """
    if actor is not None and not can_add_sites(account_of(actor)):
        raise NotAllowed("only administrators and site owners can add sites", code="role_required")
    site = sites.create_site(public_id, name, origins, commit=False, actor=actor)
    if actor is not None:
        db.session.add(Membership(site_id=site.id, user_id=actor.id, role="owner", created_at=now or utcnow()))
    audit.record(actor, site, "site.create", "site", site.id, after=sites.site_settings(site), now=now)
    db.session.commit()
    return site


def members(site):
    return list(db.session.scalars(
        db.select(Membership).where(Membership.site_id == site.id).order_by(Membership.role, Membership.id)))


def _check_may_grant(actor_role, role):
    if role not in SITE_ROLES:
        raise InvalidInput(f"a role is one of {', '.join(SITE_ROLES)}", code="invalid_role")
    if RANK[actor_role] <= RANK[role]:
        raise NotAllowed(f"a {actor_role} cannot give or take the {role} role", code="role_required")


def invite(account, site, role, note=None, lifetime=timedelta(days=7), now=None):
    """A one-time invitation link token; only its hash is stored, so it is shown once."""
    actor_role = require(account, site, "manage")
    actor = account.user
    _check_may_grant(actor_role, role)
    note = (note or "").strip() or None
    if note and len(note) > 200:
        raise InvalidInput("the note is at most 200 characters", code="invalid_note")
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    invitation = Invitation(site_id=site.id, role=role, token_hash=digest(token), note=note,
                            created_by_id=actor.id, created_at=now, expires_at=now + lifetime)
    db.session.add(invitation)
    db.session.flush()
    audit.record(actor, site, "member.invite", "invitation", invitation.id,
                 after={"role": role, "note": note, "expires_at": invitation.expires_at.isoformat(" ", "minutes")},
                 now=now)
    db.session.commit()
    return invitation, token


def pending_invitations(site, now=None):
    now = now or utcnow()
    return list(db.session.scalars(
        db.select(Invitation).where(Invitation.site_id == site.id, Invitation.accepted_at.is_(None),
                                    Invitation.revoked_at.is_(None), Invitation.expires_at > now)
        .order_by(Invitation.id.desc())))


def open_invitation(token, now=None):
    """The invitation a link's token names, while it can still be accepted."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        raise NotFound("this invitation link is not valid", code="unknown_invitation")
    invitation = db.session.scalar(db.select(Invitation).where(Invitation.token_hash == digest(token)))
    if invitation is None or invitation.revoked_at is not None:
        raise NotFound("this invitation link is not valid (it may have been withdrawn)", code="unknown_invitation")
    if invitation.accepted_at is not None:
        raise Conflict("this invitation was accepted already; log in instead", code="invitation_used")
    if invitation.expires_at < (now or utcnow()):
        raise Conflict("this invitation has expired; ask for a new one", code="invitation_expired")
    return invitation


def accept(invitation, user, now=None):
    """Give the user the invited role (keeping a stronger one they already hold); the link is spent."""
    now = now or utcnow()
    site = invitation.site
    # Spend the link first, in one statement: of two acceptances at once (two new accounts racing on one
    # link) only the one whose UPDATE finds it unspent goes on.
    claimed = db.session.execute(
        update(Invitation).where(Invitation.id == invitation.id, Invitation.accepted_at.is_(None),
                                 Invitation.revoked_at.is_(None))
        .values(accepted_at=now, accepted_by_id=user.id))
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise Conflict("this invitation was accepted already", code="invitation_used")
    ensure_account(user, now)
    current = db.session.scalar(db.select(Membership).where(Membership.site_id == site.id,
                                                            Membership.user_id == user.id))
    before = {"role": current.role} if current else None
    if current is None:
        current = Membership(site_id=site.id, user_id=user.id, role=invitation.role, created_at=now)
        db.session.add(current)
    elif RANK[invitation.role] > RANK[current.role]:
        current.role = invitation.role
    site.updated_at = now  # the widget's pages show staff badges: cached copies must go stale
    db.session.flush()
    audit.record(user, site, "member.join", "user", user.id, before=before, after={"role": current.role}, now=now)
    try:
        db.session.commit()
    except IntegrityError:  # the same link accepted twice at once
        db.session.rollback()
        raise Conflict("this invitation was accepted already", code="invitation_used") from None
    return current


def revoke_invitation(account, site, invitation, now=None):
    actor_role = require(account, site, "manage")
    actor = account.user
    if invitation.site_id != site.id:
        raise NotFound("no such invitation", code="unknown_invitation")
    _check_may_grant(actor_role, invitation.role)
    invitation.revoked_at = now or utcnow()
    audit.record(actor, site, "member.revoke_invitation", "invitation", invitation.id,
                 before={"role": invitation.role, "note": invitation.note}, now=now)
    db.session.commit()


def remove_member(account, site, membership, now=None):
    actor_role = require(account, site, "manage")
    actor = account.user
    if membership.site_id != site.id:
        raise NotFound("no such member", code="unknown_member")
    if membership.user_id == actor.id:
        raise NotAllowed("you cannot remove yourself; ask an administrator", code="remove_self")
    _check_may_grant(actor_role, membership.role)
    audit.record(actor, site, "member.remove", "user", membership.user_id,
                 before={"user": membership.user.display_name, "role": membership.role}, now=now)
    db.session.delete(membership)
    site.updated_at = now or utcnow()
    db.session.commit()


def accounts_overview():
    """[(account, [(site, role)])] of every dashboard account, for `flask user list`."""
    rows = []
    for account in db.session.scalars(db.select(DashboardAccount).order_by(DashboardAccount.id)):
        rows.append((account, [] if account.is_admin else sites_for(account)))
    return rows
