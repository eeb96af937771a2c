"""XML read element by element, keeping only the record being read in memory."""
import xml.etree.ElementTree as ET
from xml.parsers import expat

from .records import FormatError

CHUNK = 64 * 1024


def local(tag):
    """A tag without its namespace: "{http://disqus.com}post" -> "post"."""
    return tag.rpartition("}")[2]


def namespace(tag):
    return tag[1:].partition("}")[0] if tag.startswith("{") else ""


def children_text(element):
    """{local name: stripped text} of an element's direct children (the last one wins)."""
    return {local(child.tag): (child.text or "").strip() for child in element}


def _qualified(name):
    """expat's "uri}local" as ElementTree writes it: "{uri}local"."""
    return "{" + name if "}" in name else name


def _refuse(*_):
    raise FormatError("the file declares a DOCTYPE or entities, which no export has: refused")


def elements(file, keep_below):
    """Yield ("start" | "end", element, depth) for every element, the root at depth 1.

    Once the consumer has seen an element's end, the element is dropped from its parent if it
    lies at `keep_below` or above: a record (say, depth 2) keeps its fields until it ends, and is
    then let go, so memory holds one record at a time whatever the file's size.

    An export never declares entities, and refusing any DOCTYPE rules out entity-expansion bombs. The
    parser itself refuses it, as it meets it: a check of the file's bytes would miss one written in
    UTF-16 or any other encoding the parser reads.
    """
    parser = expat.ParserCreate(namespace_separator="}")
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.buffer_text = True
    builder = ET.TreeBuilder()
    found: list[tuple[str, ET.Element]] = []
    parser.StartElementHandler = lambda name, attributes: found.append(("start", builder.start(
        _qualified(name), {_qualified(key): value for key, value in attributes.items()})))
    parser.EndElementHandler = lambda name: found.append(("end", builder.end(_qualified(name))))
    parser.CharacterDataHandler = builder.data
    stack: list[ET.Element] = []
    while True:
        chunk = file.read(CHUNK)
        try:
            parser.Parse(chunk, not chunk)
        except expat.ExpatError as error:
            raise FormatError(f"the file is not well-formed XML: {error}") from None
        except (ValueError, LookupError) as error:  # an encoding it names that expat cannot read, or none at all
            raise FormatError(f"the file's encoding cannot be read: {error}") from None
        for event, element in found:
            if event == "start":
                stack.append(element)
                yield "start", element, len(stack)
            else:
                depth = len(stack)
                yield "end", element, depth
                stack.pop()
                if stack and depth <= keep_below:
                    stack[-1].remove(element)
        found.clear()
        if not chunk:
            return
