"""JSON Lines read one line at a time, gzip-compressed or not; errors name the line."""
import gzip
import json
import zlib

from .records import FormatError

# Far above any record an export writes (a comment is at most 100,000 characters). A longer line is a
# damaged file, or a compressed one made to fill the memory when unpacked: it is refused, not read whole.
MAX_LINE = 16 * 1024 * 1024


def json_lines(file):
    """Yield (line number, parsed object) for each non-blank line of a binary file."""
    stream = gzip.GzipFile(fileobj=file) if file.peek(2)[:2] == b"\x1f\x8b" else file
    number = 0
    try:
        lines = iter(lambda: stream.readline(MAX_LINE + 1), b"")
        for number, line in enumerate(lines, 1):  # noqa: B007 - the number names the line of an error
            if len(line) > MAX_LINE:
                raise FormatError(f"line {number}: longer than {MAX_LINE // 2**20} MB, which no export has")
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except UnicodeDecodeError:
                raise FormatError(f"line {number}: not UTF-8 text") from None
            except json.JSONDecodeError as error:
                raise FormatError(f"line {number}: not JSON ({error.msg} at column {error.colno})") from None
            if not isinstance(value, dict):
                raise FormatError(f"line {number}: expected a JSON object, found {type(value).__name__}")
            yield number, value
    except (OSError, EOFError, zlib.error) as error:
        raise FormatError(f"line {number + 1}: the compressed file is cut short or damaged ({error})") from None
