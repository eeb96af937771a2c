"""Text encodings named by documents others wrote: only the WHATWG Encoding Standard's labels are honoured.

A page, a feed or an uploaded file may name any charset, and Python knows codecs that are no text
encoding for the web, some of them slow: `punycode` decodes in quadratic time (a megabyte held a
core for minutes). Browsers accept only the Standard's labels, each standing for one of its
encodings; anything else is read as UTF-8, as the Standard has a missing or unknown label read.
"""

# The Standard's encodings (https://encoding.spec.whatwg.org/encodings.json), each with its labels, and the
# Python codec that decodes it as the Standard does. Where the Standard took a legacy name for a larger
# encoding, the codec is the larger one: its GBK is gb18030, Big5 is Big5-HKSCS, Shift_JIS is Windows-31J,
# EUC-KR is Windows-949, and "ascii" and "latin1" are windows-1252, as every browser reads them.
_ENCODINGS = {
    "utf-8": ("unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "utf-8", "utf8", "x-unicode20utf8"),
    "cp866": ("866", "cp866", "csibm866", "ibm866"),
    "iso8859_2": ("csisolatin2", "iso-8859-2", "iso-ir-101", "iso8859-2", "iso88592", "iso_8859-2",
                  "iso_8859-2:1987", "l2", "latin2"),
    "iso8859_3": ("csisolatin3", "iso-8859-3", "iso-ir-109", "iso8859-3", "iso88593", "iso_8859-3",
                  "iso_8859-3:1988", "l3", "latin3"),
    "iso8859_4": ("csisolatin4", "iso-8859-4", "iso-ir-110", "iso8859-4", "iso88594", "iso_8859-4",
                  "iso_8859-4:1988", "l4", "latin4"),
    "iso8859_5": ("csisolatincyrillic", "cyrillic", "iso-8859-5", "iso-ir-144", "iso8859-5", "iso88595",
                  "iso_8859-5", "iso_8859-5:1988"),
    "iso8859_6": ("arabic", "asmo-708", "csiso88596e", "csiso88596i", "csisolatinarabic", "ecma-114", "iso-8859-6",
                  "iso-8859-6-e", "iso-8859-6-i", "iso-ir-127", "iso8859-6", "iso88596", "iso_8859-6",
                  "iso_8859-6:1987"),
    "iso8859_7": ("csisolatingreek", "ecma-118", "elot_928", "greek", "greek8", "iso-8859-7", "iso-ir-126",
                  "iso8859-7", "iso88597", "iso_8859-7", "iso_8859-7:1987", "sun_eu_greek"),
    # ISO-8859-8 and ISO-8859-8-I differ only in how text is laid out, not in their characters.
    "iso8859_8": ("csiso88598e", "csisolatinhebrew", "hebrew", "iso-8859-8", "iso-8859-8-e", "iso-ir-138",
                  "iso8859-8", "iso88598", "iso_8859-8", "iso_8859-8:1988", "visual",
                  "csiso88598i", "iso-8859-8-i", "logical"),
    "iso8859_10": ("csisolatin6", "iso-8859-10", "iso-ir-157", "iso8859-10", "iso885910", "l6", "latin6"),
    "iso8859_13": ("iso-8859-13", "iso8859-13", "iso885913"),
    "iso8859_14": ("iso-8859-14", "iso8859-14", "iso885914"),
    "iso8859_15": ("csisolatin9", "iso-8859-15", "iso8859-15", "iso885915", "iso_8859-15", "l9"),
    "iso8859_16": ("iso-8859-16",),
    "koi8_r": ("cskoi8r", "koi", "koi8", "koi8-r", "koi8_r"),
    "koi8_u": ("koi8-ru", "koi8-u"),
    "mac_roman": ("csmacintosh", "mac", "macintosh", "x-mac-roman"),
    "cp874": ("dos-874", "iso-8859-11", "iso8859-11", "iso885911", "tis-620", "windows-874"),
    "cp1250": ("cp1250", "windows-1250", "x-cp1250"),
    "cp1251": ("cp1251", "windows-1251", "x-cp1251"),
    "cp1252": ("ansi_x3.4-1968", "ascii", "cp1252", "cp819", "csisolatin1", "ibm819", "iso-8859-1", "iso-ir-100",
               "iso8859-1", "iso88591", "iso_8859-1", "iso_8859-1:1987", "l1", "latin1", "us-ascii",
               "windows-1252", "x-cp1252"),
    "cp1253": ("cp1253", "windows-1253", "x-cp1253"),
    "cp1254": ("cp1254", "csisolatin5", "iso-8859-9", "iso-ir-148", "iso8859-9", "iso88599", "iso_8859-9",
               "iso_8859-9:1989", "l5", "latin5", "windows-1254", "x-cp1254"),
    "cp1255": ("cp1255", "windows-1255", "x-cp1255"),
    "cp1256": ("cp1256", "windows-1256", "x-cp1256"),
    "cp1257": ("cp1257", "windows-1257", "x-cp1257"),
    "cp1258": ("cp1258", "windows-1258", "x-cp1258"),
    "mac_cyrillic": ("x-mac-cyrillic", "x-mac-ukrainian"),
    "gb18030": ("chinese", "csgb2312", "csiso58gb231280", "gb2312", "gb_2312", "gb_2312-80", "gbk", "iso-ir-58",
                "x-gbk", "gb18030"),
    "big5hkscs": ("big5", "big5-hkscs", "cn-big5", "csbig5", "x-x-big5"),
    "euc_jp": ("cseucpkdfmtjapanese", "euc-jp", "x-euc-jp"),
    "iso2022_jp": ("csiso2022jp", "iso-2022-jp"),
    "cp932": ("csshiftjis", "ms932", "ms_kanji", "shift-jis", "shift_jis", "sjis", "windows-31j", "x-sjis"),
    "cp949": ("cseuckr", "csksc56011987", "euc-kr", "iso-ir-149", "korean", "ks_c_5601-1987", "ks_c_5601-1989",
              "ksc5601", "ksc_5601", "windows-949"),
    # Encodings that let text smuggle markup past filters: the Standard decodes anything in them to one U+FFFD.
    "replacement": ("csiso2022kr", "hz-gb-2312", "iso-2022-cn", "iso-2022-cn-ext", "iso-2022-kr",
                    "replacement"),
    "utf-16-be": ("unicodefffe", "utf-16be"),
    "utf-16-le": ("csunicode", "iso-10646-ucs-2", "ucs-2", "unicode", "unicodefeff", "utf-16", "utf-16le"),
    "x-user-defined": ("x-user-defined",),
}
REPLACEMENT, X_USER_DEFINED = "replacement", "x-user-defined"
_BY_LABEL = {label: codec for codec, labels in _ENCODINGS.items() for label in labels}
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"))
# x-user-defined: bytes 0x80 to 0xFF stand for U+F780 to U+F7FF, in the Private Use Area.
_USER_DEFINED = {byte: 0xF780 + byte - 0x80 for byte in range(0x80, 0x100)}
_ASCII_WHITESPACE = "\t\n\f\r "


def codec(label):
    """The Python codec of the encoding a WHATWG label names ("latin1" -> "cp1252"), else None."""
    if not isinstance(label, str) or len(label) > 50 or not label.isascii():
        return None  # every label is ASCII, matched without case in ASCII only (so the Kelvin sign is no "k")
    return _BY_LABEL.get(label.strip(_ASCII_WHITESPACE).lower())


def decode(data, label=None, *, in_meta=False):
    """Text of `data` in the encoding `label` names, as a browser reads it: a byte order mark wins, then a
    WHATWG label, else UTF-8; bytes that are no text become U+FFFD. `in_meta` for a label that an HTML
    document gave itself in <meta>, where UTF-16 (the meta could not have been read) means UTF-8 and
    x-user-defined means windows-1252 (HTML, "prescan a byte stream")."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(name, errors="replace")
    name = codec(label) or "utf-8"
    if in_meta:
        name = {"utf-16-be": "utf-8", "utf-16-le": "utf-8", X_USER_DEFINED: "cp1252"}.get(name, name)
    if name == REPLACEMENT:
        return "\ufffd" if data else ""
    if name == X_USER_DEFINED:
        return data.decode("latin-1").translate(_USER_DEFINED)
    return data.decode(name, errors="replace")
