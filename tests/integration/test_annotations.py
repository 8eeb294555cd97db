"""The LuaLS annotations in editor/: one file per `require` name a stack can use
(editor/lambdaeng/lambda.lua for `require "lambdaeng.lambda"`, ...), each what
scripts/gen_annotations.py makes from the engine's schema; and, read independently of
the generator, every kind the engine declares (schema.kinds, lambda.lua's functions)
and every argument of each kind, nested blocks included, has its annotation.
(lua-language-server is not packaged for Debian: the files are parsed here.)"""
import filecmp
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import LAMBDAENG, SOURCE, run  # noqa: E402

EDITOR = os.path.join(SOURCE, "editor")

SCHEMA_DUMP = r"""
local schema = require "lambdaeng.schema"
local json = require "lambdaeng.json"
local function fields(args)
  local out = {}
  for k, v in pairs(args) do out[k] = v.type == "block" and fields(v.fields) or json.array {} end
  return out
end
local out = {}
for name, kind in pairs(schema.kinds) do out[name] = fields(kind.args) end
io.write(json.encode(out))
"""


def editor_files():
    found = []
    for root, _, names in os.walk(EDITOR):
        found += [os.path.relpath(os.path.join(root, n), EDITOR) for n in names if n.endswith(".lua")]
    return sorted(found)


def classes():
    """{class name: {field: type}} over every annotation file."""
    out, current = {}, None
    for rel in editor_files():
        with open(os.path.join(EDITOR, rel)) as f:
            for line in f:
                m = re.match(r"---@class ([\w.]+)", line)
                if m:
                    current = out.setdefault(m.group(1), {})
                    continue
                m = re.match(r"---@field (\w+)\??\s+(\S+)", line)
                if m and current is not None:
                    current[m.group(1)] = m.group(2)
                elif not line.startswith("---"):
                    current = None
    return out


def class_name(kind):
    return "".join(p.capitalize() for p in kind.split("_"))


class Annotations(unittest.TestCase):
    def test_committed_files_are_current(self):
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, os.path.join(SOURCE, "scripts", "gen_annotations.py"), LAMBDAENG, tmp],
                           check=True, capture_output=True)
            fresh = sorted(os.path.relpath(os.path.join(r, n), tmp) for r, _, ns in os.walk(tmp) for n in ns)
            self.assertEqual(editor_files(), fresh, "run scripts/gen_annotations.py build/bin/lambdaeng editor")
            for rel in fresh:
                self.assertTrue(filecmp.cmp(os.path.join(tmp, rel), os.path.join(EDITOR, rel), shallow=False),
                                f"{rel} is stale: run scripts/gen_annotations.py build/bin/lambdaeng editor")

    def test_one_file_per_require_name(self):
        with open(os.path.join(SOURCE, "lua", "lambdaeng", "stackenv.lua")) as f:
            public = re.findall(r'\["(lambdaeng[\w.]*)"\] = true', f.read())
        self.assertIn("lambdaeng.lambda", public)
        for name in public:
            parts = name.split(".")
            candidates = [os.path.join(EDITOR, *parts) + ".lua", os.path.join(EDITOR, *parts, "init.lua")]
            path = next((p for p in candidates if os.path.exists(p)), None)
            self.assertIsNotNone(path, f"no annotation file for require {name!r}")
            with open(path) as f:
                self.assertEqual(f.readline().strip(), f"---@meta {name}", path)
        self.assertFalse(os.path.exists(os.path.join(EDITOR, "lambdaeng.lua")),
                         "editor/lambdaeng.lua would shadow editor/lambdaeng/init.lua")

    def test_every_kind_and_argument_is_annotated(self):
        with tempfile.NamedTemporaryFile("w", suffix=".lua") as dump:
            dump.write(SCHEMA_DUMP)
            dump.flush()
            r = run("lua", dump.name)
        self.assertEqual(r.returncode, 0, r.stderr)
        kinds = json.loads(r.stdout)
        with open(os.path.join(SOURCE, "lua", "lambdaeng", "lambda.lua")) as f:
            declared = re.findall(r"^function M\.(\w+)\(", f.read(), re.M)
        self.assertEqual(sorted(declared), sorted(kinds), "lambda.lua's functions are schema.kinds")
        resources = {n[:-4] for n in os.listdir(os.path.join(SOURCE, "lua", "lambdaeng", "resources"))}
        for kind in kinds:  # every kind has its resource code (action and ephemeral_invocation: invocation.lua)
            self.assertTrue(kind in resources or "invocation" in kind or kind == "action", kind)
        annotated = classes()
        with open(os.path.join(EDITOR, "lambdaeng", "lambda.lua")) as f:
            module = f.read()
        missing = []

        def check(cls, args, where):
            fields = annotated.get(cls)
            if fields is None:
                missing.append(f"class {cls} ({where})")
                return
            for arg, sub in args.items():
                if arg not in fields:
                    missing.append(f"{where}.{arg}")
                elif isinstance(sub, dict):
                    check(fields[arg], sub, f"{where}.{arg}")

        for kind, args in sorted(kinds.items()):
            cls = class_name(kind)
            check(f"lambdaeng.{cls}Args", args, kind)
            self.assertTrue(f"lambdaeng.{cls}" in annotated, f"no class lambdaeng.{cls}")
            self.assertRegex(module, rf"---@param args lambdaeng\.{cls}Args\n---@return lambdaeng\.{cls}\n"
                                     rf"function lambda\.{kind}\(name, args\) end", kind)
        self.assertEqual(missing, [])
        self.assertRegex(module, r'---@field lifecycle_scope\? "CREATE_ONLY"\|"CRUD"')
        self.assertRegex(module, r"---@field memory_size\? integer .*128\.\.10240")

    def test_globals(self):
        with open(os.path.join(EDITOR, "globals.lua")) as f:
            text = f.read()
        self.assertTrue(text.startswith("---@meta\n"))
        for fn in ("function var(", "function output(", "function provider(", "function backend(",
                   "function lookup(", "function fail(", "workspace = "):
            self.assertIn(fn, text)
        self.assertIn("---@class lambdaeng.ProviderArgs\n", text)


if __name__ == "__main__":
    unittest.main(verbosity=2)
