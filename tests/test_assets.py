"""The bundler that joins the widget's modules into widget.js: each form it reads, and each it refuses."""
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import require

from widget.embed import assets
from widget.embed.bundler import bundle, tokenize

ROOT = Path(__file__).resolve().parent.parent
NODE = shutil.which("node")


def modules(tmp_path, **sources):
    """A widget/ folder holding these modules (keyword `a_b` names the file a/b.js); returns it."""
    root = tmp_path / "widget"
    for name, source in sources.items():
        path = root / (name.replace("_", "/") + ".js")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    return root


def run(tmp_path, text):
    """What a script prints, run by Node as an ES module (as the page loads widget.js)."""
    require(NODE, "Node.js is not installed: it runs and parse-checks the bundle")
    script = tmp_path / "bundle.mjs"
    script.write_text(text, encoding="utf-8")
    done = subprocess.run([NODE, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def parses(tmp_path, text):
    require(NODE, "Node.js is not installed: it runs and parse-checks the bundle")
    script = tmp_path / "check.mjs"
    script.write_text(text, encoding="utf-8")
    done = subprocess.run([NODE, "--check", str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


# Forms it reads ----------------------------------------------------------------------------------

def test_every_import_and_export_form_runs_as_the_modules_would(tmp_path):
    root = modules(
        tmp_path,
        thread='import { plain, renamed as other, Klass, later, counter } from "./parts.js";\n'
               'import * as ns from "./ns.js";\n'
               'console.log(plain(), other() instanceof Promise, new Klass().kind, later, counter);\n'
               'ns.run().then((v) => console.log(v, ns.value, ns.alias));\n',
        parts='export function plain() { return "plain"; }\n'
              'export async function renamed() { return "async"; }\n'
              'export class Klass { kind = "class"; }\n'
              'const hidden = "later";\n'
              'export let counter = 3;\n'
              'export { hidden as later };\n',
        ns='export const value = 42;\n'
           'function run() { return Promise.resolve("namespace"); }\n'
           'const inner = "alias";\n'
           'export { run, inner as alias };\n',
    )
    bundled = bundle(root)
    assert [p.name for p in bundled.sources] == ["parts.js", "ns.js", "thread.js"]
    assert "const { plain, renamed: other, Klass, later, counter } = __parts;" in bundled.text
    assert "const ns = __ns;" in bundled.text
    assert "import" not in bundled.text and "export" not in bundled.text
    printed = run(tmp_path, bundled.text)
    assert printed[0] == "plain true class later 3"
    assert printed[1] == "namespace 42 alias"


def test_modules_run_once_each_after_what_they_import(tmp_path):
    root = modules(
        tmp_path,
        thread='import { a } from "./a.js";\nimport { b } from "./b.js";\nconsole.log("thread", a, b);\n',
        a='import { shared } from "./shared.js";\nconsole.log("a");\nexport const a = shared + 1;\n',
        b='import { shared } from "./shared.js";\nconsole.log("b");\nexport const b = shared + 2;\n',
        shared='console.log("shared");\nexport const shared = 10;\n',
    )
    assert run(tmp_path, bundle(root).text) == ["shared", "a", "b", "thread 11 12"]


def test_top_level_names_of_two_modules_stay_apart(tmp_path):
    root = modules(
        tmp_path,
        thread='import { one } from "./one.js";\nimport { two } from "./two.js";\n'
               'const helper = "entry";\nconsole.log(one(), two(), helper);\n',
        one='const helper = "first";\nexport function one() { return helper; }\n',
        two='const helper = "second";\nexport function two() { return helper; }\n',
    )
    assert run(tmp_path, bundle(root).text) == ["first second entry"]


def test_modules_in_a_subfolder_and_relative_paths(tmp_path):
    root = modules(
        tmp_path,
        thread='import { deep } from "./lib/deep.js";\nconsole.log(deep);\n',
        lib_deep='import { base } from "../base.js";\nexport const deep = base + "/deep";\n',
        base='export const base = "base";\n',
    )
    bundled = bundle(root)
    assert "__lib_deep" in bundled.text
    assert run(tmp_path, bundled.text) == ["base/deep"]


def test_words_in_strings_comments_regexes_and_templates_are_not_statements(tmp_path):
    root = modules(
        tmp_path,
        thread='// import { nothing } from "./nowhere.js";\n'
               '/* export default 1; */\n'
               'const text = "import x from \'./y.js\'";\n'
               'const pattern = /export\\/[a-z]+/g;\n'
               'const who = "you";\n'
               'const line = `export ${who.replace(/o/, "0")} import`;\n'
               'const location = { import: 1 };\n'
               'console.log(text, pattern.source, line, location.import);\n',
    )
    assert run(tmp_path, bundle(root).text) == ["import x from './y.js' export\\/[a-z]+ export y0u import 1"]


def test_an_exported_let_never_reassigned_is_bundled(tmp_path):
    root = modules(
        tmp_path,
        thread='import { size, lookup } from "./table.js";\nconsole.log(size, lookup());\n',
        table='export let size = 2;\nconst table = {};\n'
              'export function lookup() { table[size] = "x"; const { other = 1 } = {}; return table[size] + other; }\n',
    )
    assert run(tmp_path, bundle(root).text) == ["2 x1"]


# Forms it refuses --------------------------------------------------------------------------------

@pytest.mark.parametrize("source, line, says", [
    ('import thing from "./other.js";\n', 1, "this import form is not bundled"),
    ('import thing, { a } from "./other.js";\n', 1, "this import form is not bundled"),
    ('\nimport "./other.js";\n', 2, "this import form is not bundled"),
    ('import { a } from "./other.js"\nconst b = 1;\n', 2, "expected ';'"),
    ('const later = import("./other.js");\n', 1, "only as a statement at the top level"),
    ('console.log(import.meta.url);\n', 1, "only as a statement at the top level"),
    ('if (window) {\n  import { a } from "./other.js";\n}\n', 2, "only as a statement at the top level"),
    ('export default function () {}\n', 1, "this export form is not bundled"),
    ('export * from "./other.js";\n', 1, "this export form is not bundled"),
    ('export { a } from "./other.js";\n', 1, "re-exporting"),
    ('export var a = 1;\n', 1, "this export form is not bundled"),
    ('export const a = 1, b = 2;\n', 1, "one name per"),
    ('export const { a, b } = window;\n', 1, "one plain name"),
    ('export { nowhere };\n', 1, "not declared at the top level"),
    ('const a = 1;\nexport { a };\nexport { a };\n', 3, "exported twice"),
    ('const data = await fetch("/x");\n', 1, "`await` at the top level"),
    ('const a = `outer ${`inner`}`;\n', 1, "template literal inside another"),
    ('const a = "unterminated;\n', 1, "unterminated string"),
])
def test_unknown_forms_are_refused_with_file_and_line(tmp_path, source, line, says):
    root = modules(tmp_path, thread=source, other="export const a = 1;\n")
    with pytest.raises(RuntimeError, match=f"^widget/thread.js:{line}: .*{says}"):
        bundle(root)


def test_an_import_cycle_is_refused(tmp_path):
    root = modules(
        tmp_path,
        thread='import { a } from "./a.js";\nconsole.log(a);\n',
        a='import { b } from "./b.js";\nexport const a = 1;\n',
        b='const x = 1;\nimport { a } from "./a.js";\nexport const b = a;\n',
    )
    with pytest.raises(RuntimeError, match=r"^widget/b\.js:2: import cycle: a\.js -> b\.js -> a\.js$"):
        bundle(root)


@pytest.mark.parametrize("spec", ["../outside.js", "./../outside.js", "lodash", "https://cdn.example/x.js",
                                  "/widget/a.js", "./a.css"])
def test_an_import_from_outside_the_widget_folder_is_refused(tmp_path, spec):
    root = modules(tmp_path, thread=f'import {{ a }} from "{spec}";\n', a="export const a = 1;\n")
    (tmp_path / "outside.js").write_text("export const a = 1;\n")
    with pytest.raises(RuntimeError, match=r"^widget/thread\.js:1: imports .* from outside widget/"):
        bundle(root)


def test_a_missing_module_or_name_is_refused(tmp_path):
    root = modules(tmp_path, thread='import { a } from "./gone.js";\n')
    with pytest.raises(RuntimeError, match=r"^widget/thread\.js:1: imports './gone.js', which does not exist"):
        bundle(root)
    root = modules(tmp_path, thread='\nimport { b } from "./a.js";\n', a="export const a = 1;\n")
    with pytest.raises(RuntimeError, match=r"^widget/thread\.js:2: imports b from widget/a\.js, which does not"):
        bundle(root)


@pytest.mark.parametrize("assignment", [
    "count = count + 1;", "count += 1;", "count++;", "--count;", "[count] = [5];", "({ count } = { count: 5 });",
    "for (count of [1]) {}",
])
def test_an_exported_binding_reassigned_later_is_refused(tmp_path, assignment):
    # An ES import would see the new value; the bundle hands importers a copy, so it must not change.
    root = modules(
        tmp_path,
        thread='import { count, bump } from "./counter.js";\nbump();\nconsole.log(count);\n',
        counter=f"export let count = 0;\n\nexport function bump() {{\n  {assignment}\n}}\n",
    )
    with pytest.raises(RuntimeError, match=r"^widget/counter\.js:4: count is exported and assigned here"):
        bundle(root)


def test_a_reassigned_function_or_exported_let_via_braces_is_refused(tmp_path):
    root = modules(tmp_path, thread="let mode = 1;\nfunction go() {}\nexport { mode, go };\nmode = 2;\n")
    with pytest.raises(RuntimeError, match=r"^widget/thread\.js:4: mode is exported and assigned here"):
        bundle(root)
    root = modules(tmp_path, thread="export function go() {}\ngo = null;\n")
    with pytest.raises(RuntimeError, match=r"^widget/thread\.js:2: go is exported and assigned here"):
        bundle(root)


def test_the_bundles_own_names_cannot_be_taken(tmp_path):
    root = modules(tmp_path, thread='import { a } from "./a.js";\nconst __a = a;\n', a="export const a = 1;\n")
    with pytest.raises(RuntimeError, match=r"^widget/thread\.js:2: the name __a is the bundle's own"):
        bundle(root)


def test_a_missing_entry_module_is_refused(tmp_path):
    root = modules(tmp_path, other="export const a = 1;\n")
    with pytest.raises(RuntimeError, match="entry module is missing"):
        bundle(root)


def test_regex_and_division_are_told_apart():
    tokens = tokenize('const a = b / c / d;\nconst r = x.replace(/\\/"/g, "");\nif (!/^a`b/.test(s)) f(1 / 2);\n')
    assert [t.text for t in tokens if t.kind == "regex"] == ['/\\/"/g', "/^a`b/"]
    assert [t.text for t in tokens if t.kind == "string"] == ['""']


# The real widget ---------------------------------------------------------------------------------

def test_the_widget_bundles_every_module_once_and_parses(tmp_path):
    root = ROOT / "static" / "widget"
    bundled = bundle(root, assets.ENTRY)
    assert sorted(p.name for p in bundled.sources) == sorted(p.name for p in root.glob("*.js"))
    assert bundled.sources[-1].name == assets.ENTRY
    parses(tmp_path, bundled.text)
    served = assets.build_widget(ROOT / "static").files
    assert set(served) == {assets.BUNDLE, "thread.css", "error.css"}
    parses(tmp_path, served[assets.BUNDLE].body.decode())
