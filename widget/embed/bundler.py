"""The widget's ES modules joined into one script: a strict bundler for our own modules only, no Flask."""
import re
from dataclasses import dataclass, field
from pathlib import Path

# Each module becomes `const __name = (() => { ...; return { exports }; })();`, so two modules'
# top-level names never meet, and an import becomes `const { a, b: c } = __name;`. That is only
# right for the forms below, with no cycle, and with no exported binding reassigned after it is
# returned (an ES import sees the new value, a destructured copy would not): anything else is
# refused with its file and line rather than bundled wrongly.
FORMS = ('import { a, b as c } from "./x.js";  import * as ns from "./x.js";  '
         "export function|async function|class|const|let NAME  export { a, b as c };")

SPACE = re.compile(r"[\s\ufeff]+")
IDENT = re.compile(r"[A-Za-z_$\u0080-\uffff][\w$\u0080-\uffff]*")
NUMBER = re.compile(r"0[xXoObB][\da-fA-F_]+n?|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?n?")
PUNCTUATORS = sorted(
    ">>>= ... === !== **= <<= >>= >>> &&= ||= ??= => == != <= >= && || ?? ?. ++ -- += -= *= /= %= &= |= ^= "
    "** << >> { } ( ) [ ] ; , < > + - * / % & | ^ ! ~ ? : = . @".split(), key=len, reverse=True)
PUNCT = re.compile("|".join(map(re.escape, PUNCTUATORS)))
OPENERS = {"(": ")", "[": "]", "{": "}"}
# After these words a `/` starts a regular expression; after any other word it divides.
REGEX_AFTER = {"return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw", "case", "do",
               "else", "yield", "await"}
ASSIGNMENTS = {"=", "+=", "-=", "*=", "/=", "%=", "**=", "<<=", ">>=", ">>>=", "&=", "|=", "^=", "&&=", "||=",
               "??="}
DECLARATIONS = {"function", "class", "const", "let", "var"}


@dataclass(frozen=True)
class Token:
    kind: str  # name, number, string, template, regex, private, punct
    text: str
    start: int
    end: int
    line: int
    depth: int  # how many brackets of any kind enclose it (a template's ${ counts as one)


@dataclass
class Import:
    line: int
    start: int  # where the statement is in the source, to be replaced by a `const`
    end: int
    target: Path
    names: list  # [(exported name, local name)]; empty for a namespace import
    namespace: str | None

    def as_const(self, var):
        if self.namespace:
            return f"const {self.namespace} = {var};"
        return "const { " + ", ".join(n if n == a else f"{n}: {a}" for n, a in self.names) + f" }} = {var};"


@dataclass
class Module:
    path: Path
    where: str  # the path as errors show it
    var: str
    source: str
    tokens: list
    imports: list = field(default_factory=list)
    exports: dict = field(default_factory=dict)  # exported name -> local name
    export_lines: dict = field(default_factory=dict)  # exported name -> the line exporting it
    edits: list = field(default_factory=list)  # (start, end, replacement)


@dataclass(frozen=True)
class Bundled:
    text: str
    sources: list  # the module files, in the order they run


def fail(where, line, message):
    raise RuntimeError(f"{where}:{line}: {message}")


# Reading tokens ----------------------------------------------------------------------------------

def _skip_string(source, i, where, line):
    quote, i = source[i], i + 1
    while i < len(source):
        c = source[i]
        if c == "\\":
            i += 2
        elif c == quote:
            return i + 1
        elif c == "\n":
            break
        else:
            i += 1
    fail(where, line, "unterminated string")


def _skip_template_part(source, i, where, line):
    """From inside a template literal to just past its closing backtick or its next `${`: (end, line, opens)."""
    while i < len(source):
        c = source[i]
        if c == "\\":
            line += source[i + 1:i + 2] == "\n"
            i += 2
        elif c == "`":
            return i + 1, line, False
        elif source.startswith("${", i):
            return i + 2, line, True
        else:
            line += c == "\n"
            i += 1
    fail(where, line, "unterminated template literal")


def _skip_regex(source, i, where, line):
    i, in_class = i + 1, False
    while i < len(source):
        c = source[i]
        if c == "\\":
            i += 2
            continue
        if c == "\n":
            break
        if c == "/" and not in_class:
            flags = IDENT.match(source, i + 1)
            return flags.end() if flags else i + 1
        in_class = (in_class or c == "[") and c != "]"
        i += 1
    fail(where, line, "unterminated regular expression")


def _regex_allowed(tokens):
    if not tokens:
        return True
    last = tokens[-1]
    if last.kind == "template":
        return last.text.endswith("${")
    if last.kind == "name":
        return last.text in REGEX_AFTER
    # After `}` a division is taken: a regex literal opening a statement after a block is
    # misread, and then fails loudly as unterminated or in the parse check of the tests.
    return last.kind == "punct" and last.text not in {")", "]", "}", "++", "--"}


def tokenize(source, where="<source>"):
    """The tokens of a module, comments and whitespace left out."""
    tokens: list[Token] = []
    stack: list[str] = []  # open brackets, and "${" for a template literal's substitutions
    i, line = 0, 1
    while i < len(source):
        c = source[i]
        if space := SPACE.match(source, i):
            line += source.count("\n", i, space.end())
            i = space.end()
            continue
        if source.startswith("//", i):
            end = source.find("\n", i)
            i = len(source) if end < 0 else end
            continue
        if source.startswith("/*", i):
            end = source.find("*/", i + 2)
            if end < 0:
                fail(where, line, "unterminated comment")
            line += source.count("\n", i, end)
            i = end + 2
            continue
        start, start_line, depth = i, line, len(stack)
        if c in "\"'":
            kind, i = "string", _skip_string(source, i, where, line)
        elif c == "`" or (c == "}" and stack and stack[-1] == "${"):
            if c == "`" and "${" in stack:
                # rjsmin reads template literals unnested: it would mangle this one.
                fail(where, line, "a template literal inside another's ${...}: minifying would break it")
            if c == "}":
                stack.pop()
                depth = len(stack)
            i, line, opens = _skip_template_part(source, i + 1, where, line)
            if opens:
                stack.append("${")
            kind = "template"
        elif c == "/" and _regex_allowed(tokens):
            kind, i = "regex", _skip_regex(source, i, where, line)
        elif (found := IDENT.match(source, i)) or (found := NUMBER.match(source, i)):
            kind, i = ("name" if found.re is IDENT else "number"), found.end()
        elif c == "#" and (found := IDENT.match(source, i + 1)):
            kind, i = "private", found.end()
        elif found := PUNCT.match(source, i):
            kind, i = "punct", found.end()
            text = found.group()
            if text in OPENERS:
                stack.append(text)
            elif text in {")", "]", "}"}:
                if not stack or OPENERS.get(stack[-1]) != text:
                    fail(where, line, f"unbalanced {text!r}")
                stack.pop()
                depth = len(stack)
        else:
            fail(where, line, f"unexpected character {c!r}")
        tokens.append(Token(kind, source[start:i], start, i, start_line, depth))
    if stack:
        fail(where, line, f"unclosed {stack[-1]!r} at the end of the file")
    return tokens


# Reading one module's imports and exports --------------------------------------------------------

class _Reader:
    """A cursor over one statement's tokens that refuses anything but what it is told to expect."""

    def __init__(self, module, i):
        self.module, self.i = module, i

    def peek(self, ahead=0):
        tokens = self.module.tokens
        return tokens[self.i + ahead] if self.i + ahead < len(tokens) else None

    def at(self, text, ahead=0):
        token = self.peek(ahead)
        return token is not None and token.kind in {"name", "punct"} and token.text == text

    def take(self, text=None, kind=None, what=None):
        token = self.peek()
        if token is None or (text and not self.at(text)) or (kind and token.kind != kind):
            line = token.line if token else self.module.tokens[-1].line
            shown = repr(token.text) if token else "the end of the file"
            fail(self.module.where, line, f"expected {what or repr(text)}, found {shown}; bundled forms: {FORMS}")
        self.i += 1
        return token

    def specifiers(self):
        """`{ a, b as c }` as [(a, a), (b, c)]."""
        self.take("{")
        names = []
        while not self.at("}"):
            name = alias = self.take(kind="name", what="a name").text
            if self.at("as"):
                self.take("as")
                alias = self.take(kind="name", what="a name").text
            names.append((name, alias))
            if not self.at("}"):
                self.take(",")
        self.take("}")
        return names


def _resolve(module, spec_token, root):
    spec = spec_token.text[1:-1]
    target = (module.path.parent / spec).resolve()
    if not spec.startswith(("./", "../")) or "\\" in spec or root not in target.parents or target.suffix != ".js":
        fail(module.where, spec_token.line,
             f"imports {spec!r} from outside {root.name}/: only our own modules are bundled")
    if not target.is_file():
        fail(module.where, spec_token.line, f"imports {spec!r}, which does not exist")
    return target


def _read_import(module, i, root):
    reader = _Reader(module, i)
    keyword = reader.take("import")
    names, namespace = [], None
    if reader.at("{"):
        names = reader.specifiers()
    elif reader.at("*"):
        reader.take("*")
        reader.take("as")
        namespace = reader.take(kind="name", what="a name").text
    else:
        fail(module.where, keyword.line, f"this import form is not bundled; bundled forms: {FORMS}")
    reader.take("from")
    spec = reader.take(kind="string", what="a module path in quotes")
    end = reader.take(";")
    module.imports.append(Import(keyword.line, keyword.start, end.end, _resolve(module, spec, root), names, namespace))


def _read_export(module, i):
    reader = _Reader(module, i)
    keyword = reader.take("export")
    first = reader.peek()
    declared = []
    if reader.at("{"):
        declared = reader.specifiers()
        if reader.at("from"):
            fail(module.where, keyword.line, "re-exporting from another module is not bundled: import, then export")
        end = reader.take(";")
        module.edits.append((keyword.start, end.end, ""))
    elif reader.at("function") or (reader.at("async") and reader.at("function", 1)) or reader.at("class"):
        if reader.at("async"):
            reader.take("async")
        reader.take()
        if reader.at("*"):
            reader.take("*")
        name = reader.take(kind="name", what="the name of what is exported").text
        declared = [(name, name)]
        module.edits.append((keyword.start, first.start, ""))
    elif reader.at("const") or reader.at("let"):
        reader.take()
        name = reader.take(kind="name", what="one plain name (no destructuring)").text
        reader.take("=")
        # The statement runs to its `;`: a comma outside brackets would declare a second name.
        while True:
            token = reader.take(what="';' ending the statement")
            if token.depth == keyword.depth and token.kind == "punct" and token.text == ";":
                break
            if token.depth == keyword.depth and token.kind == "punct" and token.text == ",":
                fail(module.where, token.line, "one name per `export const` or `export let`")
        declared = [(name, name)]
        module.edits.append((keyword.start, first.start, ""))
    else:
        fail(module.where, keyword.line, f"this export form is not bundled; bundled forms: {FORMS}")
    for local, exported in declared:
        if exported in module.exports:
            fail(module.where, keyword.line, f"{exported} is exported twice")
        module.exports[exported] = local
        module.export_lines[exported] = keyword.line


def _top_level_bindings(module):
    """Names declared at the top of a module, with how: function, class, const, let, var or import."""
    tokens = module.tokens
    found: dict[str, str] = {}
    for i, token in enumerate(tokens[:-1]):
        if token.depth == 0 and token.kind == "name" and token.text in DECLARATIONS:
            following = tokens[i + 2] if tokens[i + 1].text == "*" and i + 2 < len(tokens) else tokens[i + 1]
            if following.kind == "name":
                found.setdefault(following.text, token.text)
    for imported in module.imports:
        for _, local in imported.names:
            found[local] = "import"
        if imported.namespace:
            found[imported.namespace] = "import"
    return found


def _assignment_line(tokens, name):
    """The line of the first place that may assign `name` after its declaration, or None."""
    for i, token in enumerate(tokens):
        if token.kind != "name" or token.text != name:
            continue
        before = tokens[i - 1].text if i else ""
        after = tokens[i + 1].text if i + 1 < len(tokens) else ""
        if before in {".", "?.", "let", "const", "var", "function", "class"}:
            continue
        if after in ASSIGNMENTS or {before, after} & {"++", "--"}:
            return token.line
        if before == "(" and i > 1 and tokens[i - 2].text == "for" and after in {"of", "in"}:
            return token.line
    # Destructuring: `[a, name] = ...` or `({ name } = ...)`; not `table[name] = ...`.
    for i, token in enumerate(tokens[:-1]):
        if token.kind != "punct" or token.text not in {"]", "}"} or tokens[i + 1].text != "=":
            continue
        opener = i - 1
        while opener > 0 and tokens[opener].depth > token.depth:
            opener -= 1
        before = tokens[opener - 1] if opener else None
        if token.text == "]" and before is not None and (
                before.kind in {"number", "string", "template", "regex", "private"}
                or (before.kind == "name" and before.text not in REGEX_AFTER) or before.text in {")", "]", "}"}):
            continue
        for k in range(opener + 1, i):
            if tokens[k].kind == "name" and tokens[k].text == name and tokens[k - 1].text not in {".", "?."}:
                return tokens[k].line
    return None


def read_module(path, root):
    """One module's tokens, imports and exports, with the edits that turn it into a function body."""
    where = path.relative_to(root.parent).as_posix()
    stem = path.relative_to(root).with_suffix("").as_posix()
    source = path.read_text(encoding="utf-8")
    module = Module(path, where, "__" + re.sub(r"\W", "_", stem), source, tokenize(source, where))
    tokens = module.tokens
    for i, token in enumerate(tokens):
        if token.kind != "name" or token.text not in {"import", "export", "return", "await"}:
            continue
        before = tokens[i - 1] if i else None
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        if (before is not None and before.text in {".", "?."}) or (after is not None and after.text == ":"):
            continue  # a property: location.import, { import: 1 }
        if token.text in {"return", "await"}:
            if token.depth == 0:
                fail(where, token.line, f"`{token.text}` at the top level of a module is not bundled")
            continue
        if token.depth or (before is not None and before.text not in {";", "}"}):
            fail(where, token.line, f"`{token.text}` is bundled only as a statement at the top level; "
                                    f"bundled forms: {FORMS}")
        if token.text == "import":
            _read_import(module, i, root)
        else:
            _read_export(module, i)
    bindings = _top_level_bindings(module)
    for exported, local in module.exports.items():
        kind = bindings.get(local)
        if kind is None:
            fail(where, module.export_lines[exported], f"exports {local}, which is not declared at the top level")
        line = None if kind in {"const", "import"} else _assignment_line(tokens, local)
        if line is not None:
            fail(where, line, f"{local} is exported and assigned here: importers would keep the old value "
                              "(the bundle copies exports once); export a function that reads it instead")
    return module


# The whole graph ---------------------------------------------------------------------------------

def _load_in_order(root, entry):
    """Every module reachable from the entry, each after the modules it imports (as browsers run them)."""
    order: list[Module] = []
    done: dict[Path, Module] = {}
    visiting: list[Path] = []

    def visit(path, importer=None, line=None):
        if path in done:
            return
        if path in visiting:
            chain = [p.name for p in visiting[visiting.index(path):]] + [path.name]
            fail(importer.where, line, "import cycle: " + " -> ".join(chain))
        visiting.append(path)
        module = read_module(path, root)
        for imported in module.imports:
            visit(imported.target, module, imported.line)
        visiting.pop()
        done[path] = module
        order.append(module)

    visit(entry)
    return order


def bundle(root, entry="thread.js"):
    """The modules reachable from `entry` under `root` as one script, each in its own function scope."""
    root = Path(root).resolve()
    if not (root / entry).is_file():
        raise RuntimeError(f"{root.name}/{entry}: the entry module is missing")
    modules = _load_in_order(root, root / entry)
    by_path = {m.path: m for m in modules}
    names: dict[str, str] = {}
    for module in modules:
        if module.var in names:
            fail(module.where, 1, f"its bundle name {module.var} is also {names[module.var]}'s")
        names[module.var] = module.where
    for module in modules:
        for token in module.tokens:
            if token.kind == "name" and token.text in names:
                fail(module.where, token.line, f"the name {token.text} is the bundle's own: rename it")
    for module in modules:
        for imported in module.imports:
            target = by_path[imported.target]
            for name, _ in imported.names:
                if name not in target.exports:
                    fail(module.where, imported.line, f"imports {name} from {target.where}, which does not export it")
    parts = []
    for module in modules:
        body = _apply(module, by_path)
        if module.path == root / entry:
            parts.append(f"(() => {{\n{body}\n}})();\n")
        else:
            exported = ", ".join(e if e == local else f"{e}: {local}" for e, local in module.exports.items())
            parts.append(f"const {module.var} = (() => {{\n{body}\nreturn {{ {exported} }};\n}})();\n")
    return Bundled("".join(parts), [m.path for m in modules])


def _apply(module, by_path):
    """The module's source with its imports turned into constants and its `export` words gone."""
    edits = module.edits + [(i.start, i.end, i.as_const(by_path[i.target].var)) for i in module.imports]
    text, done = [], 0
    for start, end, replacement in sorted(edits):
        text.append(module.source[done:start] + replacement)
        done = end
    text.append(module.source[done:])
    return "".join(text)
