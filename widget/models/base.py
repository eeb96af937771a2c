"""What every model shares: the clock and the bounds of an id."""
import re
from datetime import UTC, datetime


def utcnow():
    return datetime.now(UTC).replace(tzinfo=None)


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


def fixed_defaults(table):
    """{column name: its default} for the table's columns with a fixed (not computed) default: what the ORM's
    flush fills in, for writes that go around it."""
    return {column.name: column.default.arg for column in table.columns
            if column.default is not None and column.default.is_scalar}
