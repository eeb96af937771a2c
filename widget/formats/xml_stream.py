"""XML read as a stream of events, keeping in memory only the text of the element being read.

No tree is built: a reader sees each element start and end, with the text of those at or below
the depth it reads fields at, and keeps what it needs. So memory holds one record's fields
whatever the file's size or shape, and a file nested deeper than its format ever is, or with one
piece of markup larger than any export writes, is refused as soon as the parser meets it.
"""
import codecs
import re
from xml.parsers import expat

from .. import charsets
from .records import FormatError

CHUNK = 64 * 1024
# The text kept of one element, in characters: far above any field an export has (a WordPress comment is
# at most 64 KB). Past it the rest is not kept, and the reader sees a text longer than it accepts.
MAX_TEXT = 2**20
# One tag, comment or processing instruction, in bytes: the parser holds it whole, and (expat before 2.6)
# scans it again with every chunk until it ends. Exports write small ones; text and CDATA come in pieces.
MAX_MARKUP = 2**20
# Distinct element, attribute and prefix names in one file: an export uses a few dozen, and the parser keeps
# every one it meets until the end.
MAX_NAMES = 10_000
_DECLARED = re.compile(rb"""^<\?xml[^>]{0,200}?\sencoding\s*=\s*["']([A-Za-z0-9._:-]{1,64})["']""")
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def local(tag):
    """A tag without its namespace: "{http://disqus.com}post" -> "post"."""
    return tag.rpartition("}")[2]


def namespace(tag):
    return tag[1:].partition("}")[0] if tag.startswith("{") else ""


def _qualified(name):
    """expat's "uri}local" as ElementTree writes it: "{uri}local"."""
    return "{" + name if "}" in name else name


def _refuse(*_):
    raise FormatError("the file declares a DOCTYPE or entities, which no export has: refused")


def _codec(start):
    """The codec the file's first bytes call for: its byte order mark, else the encoding its XML declaration
    names if the WHATWG Encoding Standard lists it, else UTF-8 (as the standard says of an unknown label)."""
    for bom, codec in _BOMS:
        if start.startswith(bom):
            return codec
    if start.startswith(b"<\x00?\x00"):
        return "utf-16-le"
    if start.startswith(b"\x00<\x00?"):
        return "utf-16-be"
    declared = _DECLARED.match(start)
    label = declared[1].decode("ascii") if declared else ""
    codec = charsets.codec(label) or "utf-8"
    if codec in (charsets.REPLACEMENT, charsets.X_USER_DEFINED):
        # Encodings browsers keep for old web pages only: no export is written in one.
        raise FormatError(f"the file declares the {label} encoding, which no export uses")
    return codec


def _utf8_chunks(file):
    """The file's bytes as UTF-8, a chunk at a time, read in the codec it calls for (see _codec)."""
    first = file.read(CHUNK)
    codec = _codec(first)
    if codec == "utf-8":
        yield first
        yield from iter(lambda: file.read(CHUNK), b"")
        return
    decoder = codecs.getincrementaldecoder(codec)()
    chunk = first
    try:
        while chunk:
            yield decoder.decode(chunk).encode("utf-8", "surrogatepass")
            chunk = file.read(CHUNK)
        decoder.decode(b"", final=True)  # raises for a file cut inside a character
    except UnicodeDecodeError as error:
        raise FormatError(f"the file is not {codec} text, as it says it is: {error.reason}") from None


def events(file, max_depth, text_depth, described="the export"):
    """Yield the file's events, the root at depth 1:

        ("namespace", prefix, uri, depth)   a namespace declared on the element about to start
        ("start", tag, attributes, depth)
        ("end", tag, text, depth)           text: the element's own character data, for elements at
                                            `text_depth` or deeper (else ""); past MAX_TEXT the rest is not kept

    Tags are "{namespace}local". An element deeper than `max_depth` ends the file with a FormatError, as do
    a DOCTYPE or entity declaration (no export has one: this rules out entity-expansion bombs, and the parser
    meets it in any encoding) and markup longer than MAX_MARKUP.
    """
    # The document is handed to expat as UTF-8 whatever it declares: only WHATWG labels are honoured.
    parser = expat.ParserCreate(encoding="UTF-8", namespace_separator="}")
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.buffer_text = True
    found: list[tuple] = []
    texts: list[list[str]] = []  # of each open element at text_depth or deeper: its pieces of text
    sizes: list[int] = []
    depth = 0
    last_event = [0]  # where in the input the parser last reported something
    names: set[str] = set()

    def name_seen(name):
        if name not in names:
            if len(names) >= MAX_NAMES:
                raise FormatError(f"line {parser.CurrentLineNumber}: more than {MAX_NAMES:,} different element "
                                  f"and attribute names; {described} uses a few dozen")
            names.add(name)

    def start(name, attributes):
        nonlocal depth
        depth += 1
        if depth > max_depth:
            raise FormatError(f"line {parser.CurrentLineNumber}: elements nested {depth} deep; {described} "
                              f"has at most {max_depth}")
        last_event[0] = parser.CurrentByteIndex
        name_seen(name)
        for key in attributes:
            name_seen(key)
        found.append(("start", _qualified(name),
                      {_qualified(key): value for key, value in attributes.items()} if attributes else {}, depth))
        if depth >= text_depth:
            texts.append([])
            sizes.append(0)

    def end(name):
        nonlocal depth
        last_event[0] = parser.CurrentByteIndex
        text = ""
        if depth >= text_depth:
            text = "".join(texts.pop())
            sizes.pop()
        found.append(("end", _qualified(name), text, depth))
        depth -= 1

    def data(text):
        last_event[0] = parser.CurrentByteIndex
        if texts and sizes[-1] <= MAX_TEXT:
            texts[-1].append(text[:MAX_TEXT + 1 - sizes[-1]])
            sizes[-1] += len(text)

    def other(_markup):  # comments, processing instructions, the XML declaration
        last_event[0] = parser.CurrentByteIndex

    def declared(prefix, uri):
        name_seen(f"xmlns:{prefix}={uri}")
        found.append(("namespace", prefix or "", uri or "", depth + 1))

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = data
    parser.StartNamespaceDeclHandler = declared
    parser.DefaultHandlerExpand = other
    fed = 0
    for chunk in _with_end(_utf8_chunks(file)):
        fed += len(chunk)
        try:
            parser.Parse(chunk, not chunk)
        except expat.ExpatError as error:
            raise FormatError(f"the file is not well-formed XML: {error}") from None
        yield from found
        found.clear()
        if fed - last_event[0] > MAX_MARKUP:
            raise FormatError(f"line {parser.CurrentLineNumber}: one tag or comment longer than "
                              f"{MAX_MARKUP // 2**20} MB, which no export has")


def _with_end(chunks):
    """The chunks that hold something, then an empty one: the parser takes that as the end of the file."""
    yield from (chunk for chunk in chunks if chunk)
    yield b""
