"""Other systems' export files read as a stream of records: pure parsers, no Flask and no database.

Each reader takes an open binary file (or a path, for Isso's SQLite database) and yields a `Page`
before the first `Entry` that refers to it, and the `Source` the file names, if it names one, before
its first `Entry`. They read as they go, in memory that does not grow with the file, and raise
`FormatError` naming the line or element when the file is not what it claims.
"""
from .records import Entry, FormatError, Note, Page, Source

__all__ = ["Entry", "FormatError", "Note", "Page", "Source"]
