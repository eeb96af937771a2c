"""JSON Lines read one line at a time, gzip-compressed or not; errors name the line."""
import gzip
import json
import re
import zlib

from .records import FormatError

# Far above any record an export writes (a comment is at most 100,000 characters). A longer line is a
# damaged file, or a compressed one made to fill the memory when unpacked: it is refused, not read whole.
MAX_LINE = 16 * 1024 * 1024
# Comment exports compress 5 to 10 times; a file that unpacks to more than this many times its size is
# made to cost hours of reading (a megabyte of gzip unpacks to a gigabyte of blank lines).
MAX_RATIO = 100
CHUNK = 1024 * 1024
_NOT_BLANK = re.compile(rb"[^ \t\r\n]")


class _Counted:
    """The compressed file, counting what the decompressor has taken of it."""

    def __init__(self, file):
        self.file, self.count = file, 0

    def read(self, size=-1):
        data = self.file.read(size)
        self.count += len(data)
        return data


def _chunks(file):
    """The file's bytes, unpacked if it is gzip, with the unpacked size held to MAX_RATIO times the packed one."""
    if file.peek(2)[:2] != b"\x1f\x8b":
        yield from iter(lambda: file.read(CHUNK), b"")
        return
    packed = _Counted(file)
    unpacked = 0
    with gzip.GzipFile(fileobj=packed) as stream:  # type: ignore[call-overload]
        # Read a chunk at a time, never more: the check comes before the next megabyte is made.
        while chunk := stream.read(CHUNK):
            unpacked += len(chunk)
            if unpacked > MAX_RATIO * packed.count:
                raise FormatError(f"the compressed file unpacks to more than {MAX_RATIO} times its size, "
                                  "which no export does")
            yield chunk


def json_lines(file):
    """Yield (line number, parsed object) for each non-blank line of a binary file.

    Blank lines are skipped a run at a time, never one by one, so that time follows the file's size
    rather than its number of lines.
    """
    number = 0  # of the last line read
    buffer, start = b"", 0
    chunks = _chunks(file)
    ended = False
    try:
        while True:
            blank_end = _NOT_BLANK.search(buffer, start)
            if blank_end is None:
                number += buffer.count(b"\n", start)
                buffer, start = b"", 0
                if ended:
                    return
                buffer = next(chunks, b"")
                ended = not buffer
                continue
            number += buffer.count(b"\n", start, blank_end.start())
            start = blank_end.start()
            end = buffer.find(b"\n", start)
            if end < 0 and not ended:
                if len(buffer) - start > MAX_LINE:
                    raise FormatError(f"line {number + 1}: longer than {MAX_LINE // 2**20} MB, which no export has")
                more = next(chunks, b"")
                ended = not more
                buffer, start = buffer[start:] + more, 0
                continue
            end = len(buffer) if end < 0 else end
            number += 1
            if end - start > MAX_LINE:
                raise FormatError(f"line {number}: longer than {MAX_LINE // 2**20} MB, which no export has")
            line, start = buffer[start:end], end + 1
            yield number, _parse(number, line)
    except (OSError, EOFError, zlib.error) as error:
        raise FormatError(f"line {number + 1}: the compressed file is cut short or damaged ({error})") from None


def _parse(number, line):
    try:
        value = json.loads(line)
    except UnicodeDecodeError:
        raise FormatError(f"line {number}: not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise FormatError(f"line {number}: not JSON ({error.msg} at column {error.colno})") from None
    if not isinstance(value, dict):
        raise FormatError(f"line {number}: expected a JSON object, found {type(value).__name__}")
    return value
