"""Modules people install (issue 18, People): a module that is not found says in one
line where it was looked for and how to make it found (lua_modules/, LAMBDAENG_PATH);
a LuaRocks rock, built and installed by the real `luarocks` into the stack's
lua_modules tree, carries the function code its module declares (`source` resolved
against the rock's installed files, since copy_directories land in the rock's own
directory, not beside the module), deployed to and invoked on the local target."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import run  # noqa: E402

MODULE = """
local lambda = require "lambdaeng.lambda"
local lambdaeng = require "lambdaeng"
return lambdaeng.module(function(opts)
  local fn = lambda.func("handler", { function_name = opts.name, runtime = "python3.12",
    handler = "index.handler", role = "arn:aws:iam::123456789012:role/r", source = opts.source or "code" })
  return fn
end)
"""

ROCKSPEC = """
package = "acme-fn"
version = "1.0-1"
source = { url = "." }
build = { type = "builtin", modules = { ["acme.fn"] = "acme/fn.lua" }, copy_directories = { "code" } }
"""


class ModuleSearch(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lambdaeng-modsearch-")
        self.env = {"HOME": self.dir, "LAMBDAENG_WAITER_DELAY": "0.05"}  # no AWS variables: the local target

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, rel, text):
        path = os.path.join(self.dir, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path

    def le(self, *args, env=None):
        return run(*args, env=dict(self.env, **(env or {})), cwd=os.path.join(self.dir, "app"))

    def test_not_found_says_where_it_looked_in_one_line(self):
        self.write("app/stack.lua", 'local x = require "acme.missing"\n')
        extra = os.path.join(self.dir, "shared")
        r = self.le("plan", "stack.lua", env={"LAMBDAENG_PATH": extra})
        self.assertEqual(r.returncode, 1)
        lines = [ln for ln in r.stderr.splitlines() if "not found" in ln]
        self.assertEqual(len(lines), 1, r.stderr)
        line = lines[0]
        self.assertIn("stack.lua:1: module 'acme.missing' not found: looked for acme/missing.lua or "
                      "acme/missing/init.lua in ., lua_modules, lua_modules/share/lua/5.4, ", line)
        self.assertIn(extra, line)  # each LAMBDAENG_PATH directory
        self.assertIn("put it in lua_modules/ beside the stack", line)
        self.assertIn("LAMBDAENG_PATH", line)
        self.assertNotIn("no file", r.stderr)

    def test_a_rock_carries_its_function_code(self):
        if not shutil.which("luarocks"):
            raise RuntimeError("luarocks is required (scripts/deps.sh installs it)")
        self.write("src/acme/fn.lua", MODULE)
        self.write("src/code/index.py", "def handler(event, context):\n    return {'from': 'the rock'}\n")
        self.write("src/acme-fn-1.0-1.rockspec", ROCKSPEC)
        tree = os.path.join(self.dir, "app", "lua_modules")
        r = subprocess.run(["luarocks", "--lua-version", "5.4", "--tree", tree, "make", "acme-fn-1.0-1.rockspec"],
                           cwd=os.path.join(self.dir, "src"), env=dict(os.environ, HOME=self.dir),
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # the code is in the rock's directory, not beside the module
        self.assertTrue(os.path.isfile(os.path.join(tree, "lib/luarocks/rocks-5.4/acme-fn/1.0-1/code/index.py")))
        self.assertFalse(os.path.exists(os.path.join(tree, "share/lua/5.4/acme/code")))
        shutil.rmtree(os.path.join(self.dir, "src"))  # nothing but the installed rock remains
        self.write("app/stack.lua", 'require("acme.fn")("svc", { name = "rock-fn" })\n')
        r = self.le("run", "stack.lua", "--yes")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("Apply complete! Resources: 1 added", r.stdout)
        r = self.le("invoke", "rock-fn")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), '{"from": "the rock"}')
        # a source the rock does not carry: the error names the path beside the module
        self.write("app/stack.lua", 'require("acme.fn")("svc", { name = "rock-fn", source = "nope" })\n')
        r = self.le("plan", "stack.lua")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no such file or directory: " + os.path.join(tree, "share/lua/5.4/acme/nope"), r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
