"""What counts as an email address: a pure check, shared by input parsing and the services."""
import re

MAX_LENGTH = 254  # RFC 5321's limit on a forward path
PATTERN = re.compile(r"^[^@\s\x00-\x1f]{1,64}@[^@\s\x00-\x1f]+\.[^@\s\x00-\x1f]+$")


def is_email(value):
    """True for one address of a sane shape; whether it receives mail only sending can tell."""
    return isinstance(value, str) and len(value) <= MAX_LENGTH and PATTERN.match(value) is not None
