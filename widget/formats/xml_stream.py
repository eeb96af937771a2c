"""XML read element by element, keeping only the record being read in memory."""
import re
import xml.etree.ElementTree as ET
from typing import cast

from .records import FormatError

CHUNK = 64 * 1024
# An export never declares entities; refusing them outright rules out entity-expansion bombs.
_DECLARATIONS = re.compile(rb"<!(ENTITY|DOCTYPE)", re.IGNORECASE)


def local(tag):
    """A tag without its namespace: "{http://disqus.com}post" -> "post"."""
    return tag.rpartition("}")[2]


def namespace(tag):
    return tag[1:].partition("}")[0] if tag.startswith("{") else ""


def children_text(element):
    """{local name: stripped text} of an element's direct children (the last one wins)."""
    return {local(child.tag): (child.text or "").strip() for child in element}


def elements(file, keep_below):
    """Yield ("start" | "end", element, depth) for every element, the root at depth 1.

    Once the consumer has seen an element's end, the element is dropped from its parent if it
    lies at `keep_below` or above: a record (say, depth 2) keeps its fields until it ends, and is
    then let go, so memory holds one record at a time whatever the file's size.
    """
    parser: ET.XMLPullParser = ET.XMLPullParser(["start", "end"])
    stack: list[ET.Element] = []
    tail = b""
    in_prolog = True
    while True:
        chunk = file.read(CHUNK)
        if in_prolog and _DECLARATIONS.search(tail + chunk):
            raise FormatError("the file declares a DOCTYPE or entities, which no export has: refused")
        tail = chunk[-16:]
        try:
            if chunk:
                parser.feed(chunk)
            else:
                parser.close()
            for found in parser.read_events():
                event, element = cast(tuple[str, ET.Element], found)
                if event == "start":
                    in_prolog = False
                    stack.append(element)
                    yield "start", element, len(stack)
                else:
                    depth = len(stack)
                    yield "end", element, depth
                    stack.pop()
                    if stack and depth <= keep_below:
                        stack[-1].remove(element)
        except ET.ParseError as error:
            raise FormatError(f"the file is not well-formed XML: {error}") from None
        if not chunk:
            return
