"""Email: what counts as an address, and messages composed and sent over SMTP (no Flask, no database)."""
import re
import smtplib
import ssl
from dataclasses import dataclass
from email import policy, utils
from email.message import EmailMessage

MAX_LENGTH = 254  # RFC 5321's limit on a forward path
# No characters of an address header's syntax (a display name, a group, a list): "a<victim@example.com>" would
# be stored, and throttled, as its own address while the mail went to the victim's.
_PART = r'[^@\s\x00-\x1f<>()\[\],;:"\\]'
PATTERN = re.compile(rf"^{_PART}{{1,64}}@{_PART}+\.{_PART}+$")


def is_email(value):
    """True for one address of a sane shape; whether it receives mail only sending can tell."""
    return isinstance(value, str) and len(value) <= MAX_LENGTH and PATTERN.match(value) is not None


# Providers that deliver every spelling with dots moved in the local part to one mailbox (Gmail documents
# it), and their domains that are one.
DOTLESS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def mailbox(address):
    """The mailbox an address reaches, as far as its spelling tells, for counting what is sent to one person:
    case folded and without a "+tag" (every common provider delivers local+anything to local), and for
    Gmail without dots. Other separators ("-" at some hosts) are not dropped: "jo-smith" is as often a
    person of its own as a tag of "jo"."""
    local, _, domain = address.strip().rpartition("@")
    local, domain = local.casefold(), domain.casefold().rstrip(".")
    local = local.split("+", 1)[0] or local
    if domain in DOTLESS:
        local, domain = local.replace(".", "") or local, DOTLESS[domain]
    return f"{local}@{domain}"


# Composing and sending ----------------------------------------------------------------

SECURITY_MODES = ("none", "starttls", "tls")


@dataclass(frozen=True)
class SmtpSettings:
    host: str | None
    port: int = 25
    security: str = "none"
    user: str | None = None
    password: str | None = None
    sender: str = "Parley <parley@localhost>"
    timeout: float = 20.0

    @classmethod
    def from_config(cls, config):
        security = (config.get("SMTP_SECURITY") or "none").lower()
        if security not in SECURITY_MODES:
            raise ValueError(f"SMTP_SECURITY must be one of {', '.join(SECURITY_MODES)}, not {security!r}")
        default_port = {"none": 25, "starttls": 587, "tls": 465}[security]
        # PARLEY_* values that look like JSON arrive parsed (a numeric password as an int): text them again.
        def text(key):
            value = config.get(key)
            return None if value in (None, "") else str(value)
        return cls(host=text("SMTP_HOST"), port=int(config.get("SMTP_PORT") or default_port),
                   security=security, user=text("SMTP_USER"), password=text("SMTP_PASSWORD"),
                   sender=text("SMTP_FROM") or "Parley <parley@localhost>",
                   timeout=float(config.get("SMTP_TIMEOUT") or 20))


@dataclass(frozen=True)
class Letter:
    """What one email says, before it becomes a MIME message."""

    to: str
    subject: str
    text: str
    html: str
    message_id: str  # stable per outbox job: a resent copy is recognisably the same email
    unsubscribe_url: str | None = None  # RFC 8058 one-click target (answers POST)
    language: str = "en"


def compose(letter, sender):
    """A multipart/alternative message (plain text first, then HTML) built by the standard email package."""
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = sender
    message["To"] = letter.to
    message["Subject"] = letter.subject
    message["Date"] = utils.formatdate(localtime=False)
    message["Message-ID"] = letter.message_id
    # Not a person writing: vacation replies and the like should stay quiet (RFC 3834).
    message["Auto-Submitted"] = "auto-generated"
    if letter.unsubscribe_url:
        message["List-Unsubscribe"] = f"<{letter.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058
    message.set_content(letter.text)
    message.add_alternative(letter.html, subtype="html")
    # After the parts exist: making the message multipart moves Content-* headers into its first part.
    message["Content-Language"] = letter.language
    return message


class SmtpConnection:
    """One SMTP session, opened on the first message and reused for the rest of a batch."""

    def __init__(self, settings):
        self.settings = settings
        self._smtp = None

    def _open(self):
        s = self.settings
        if not s.host:
            raise SmtpUnavailable("no SMTP server is configured (PARLEY_SMTP_HOST)")
        smtp: smtplib.SMTP
        try:
            if s.security == "tls":
                smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
                if s.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
            if s.user:
                smtp.login(s.user, s.password or "")
        except (OSError, smtplib.SMTPException) as error:
            raise SmtpUnavailable(f"cannot reach the SMTP server {s.host}:{s.port}: {error}") from error
        return smtp

    def send(self, message):
        """Hand one message over; raises SmtpUnavailable (try later) or SmtpRefused (never)."""
        if self._smtp is None:
            self._smtp = self._open()
        try:
            refused = self._smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            self.close()
            if all(500 <= code < 600 for code in codes):
                raise SmtpRefused(f"the SMTP server refused the address: {error.recipients}") from error
            raise SmtpUnavailable(f"the SMTP server deferred the address: {error.recipients}") from error
        except smtplib.SMTPResponseException as error:
            self.close()
            if 500 <= error.smtp_code < 600:
                raise SmtpRefused(f"the SMTP server refused the message: {error.smtp_code} {error.smtp_error!r}") \
                    from error
            raise SmtpUnavailable(f"the SMTP server deferred the message: {error.smtp_code}") from error
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            raise SmtpUnavailable(f"the SMTP session broke: {error}") from error
        if refused:
            raise SmtpRefused(f"the SMTP server refused {sorted(refused)}")

    def check(self):
        """Connect, secure and log in as a send would, then hang up; raises SmtpUnavailable saying why."""
        self._smtp = self._open()
        self.close()

    def close(self):
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self._smtp = None


class SmtpUnavailable(Exception):
    """The SMTP server could not take the message now; it may later."""


class SmtpRefused(Exception):
    """The SMTP server refused the message for good."""


def mask_email(email):
    """The address as staff may see it: its first letter and its domain ("j•••@example.org")."""
    local, at, domain = str(email or "").strip().rpartition("@")
    if not at or not local or not domain:
        return None
    return f"{local[0]}•••@{domain.lower()}"
