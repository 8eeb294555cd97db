"""Values a stack cannot store get a clear error at the user's file:line, never an
internal error with a traceback (audit F5, F8, F9, F10):

- F8: an output set to a function, a coroutine, NaN or infinity is an error at
  `validate` (and plan), naming the output and its line; one made at apply time by
  deferred code fails that output only; an argument string that is not UTF-8 is a
  plan error naming the argument;
- F9: a var's default must be of its declared type;
- F10: error({}) in a var's validate, an error raised in a coroutine, empty maps in
  the plan, a module not found, --refresh=false;
- F5 (local target): a function returning bytes that are not UTF-8 fails naming the
  function and the byte; `lambdaeng invoke` writes the payload exactly to a pipe,
  escaped on a terminal, base64-encoded (and said so) with --json."""
import base64
import json
import os
import pty
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import LAMBDAENG, TempDirTest, main, run  # noqa: E402

FUNC = """local lambda = require "lambdaeng.lambda"
local f = lambda.func("a", { function_name = "vals-a", runtime = "python3.12", handler = "index.handler",
  role = "arn:aws:iam::123456789012:role/r", source = "code"%s })
"""

# A provided.al2023 bootstrap answering every event with bytes that are not UTF-8 (and an ESC sequence).
RAW_BOOTSTRAP = r"""#!/bin/sh
while true; do
  H=$(mktemp)
  curl -s -D "$H" -o /dev/null "http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation/next"
  ID=$(grep -i lambda-runtime-aws-request-id "$H" | tr -d '\r' | awk '{print $2}')
  printf '"\377\376 bad \000 utf8 \033[31m red"' > /tmp/resp
  curl -s -X POST --data-binary @/tmp/resp "http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation/$ID/response" >/dev/null
done
"""
RAW = b'"\xff\xfe bad \x00 utf8 \x1b[31m red"'


class StackValues(TempDirTest):
    def le(self, *args, **kw):
        return run(*args, cwd=self.dir, timeout=300, **kw)

    def assert_clean_error(self, r, *expected):
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 1, out)
        for e in expected:
            self.assertIn(e, out)
        for bad in ("internal error", "stack traceback", "table: 0x", "function: 0x", "lambdaeng/lua/"):
            self.assertNotIn(bad, out)

    # F8
    def test_outputs_that_state_cannot_hold(self):
        cases = {
            "fn.lua": ('output("ok", 1)\noutput("f", function() end)\n',
                       "fn.lua:2: output.f: the value is a function, which state and the API cannot hold"),
            "co.lua": ('output("co", coroutine.create(function() end))\n', "co.lua:1: output.co: the value is a coroutine"),
            # NaN prints as nan or -nan depending on the machine
            "nan.lua": ('output("nan", { a = { 0/0 } })\n', "nan.lua:1: output.nan: a[1]: the value is "),
            "inf.lua": ('output("inf", math.huge)\n', "inf.lua:1: output.inf: the value is inf, which JSON cannot hold"),
            "bytes.lua": ('output("b", "\\255")\n', "bytes.lua:1: output.b: the value is not valid UTF-8 text (byte 1)"),
        }
        for name, (text, message) in cases.items():
            self.write(name, text)
            for command in ("validate", "plan"):
                r = self.le(command, name)
                self.assert_clean_error(r, message)
                if name == "nan.lua":
                    self.assertIn("nan, which JSON cannot hold (a number must be finite)", r.stderr)

    def test_an_output_made_at_apply_time_by_deferred_code(self):
        self.write("code/index.py", "def handler(event, context):\n    return event\n")
        self.write("stack.lua", FUNC % "" + 'output("arn", f.arn)\n'
                   'output("bad", f.arn:map(function(a) return function() end end))\n')
        r = self.le("run", "stack.lua", "--yes", "--local")
        self.assert_clean_error(r, "output.bad (declared at stack.lua:5)",
                                "InvalidOutput: the value is a function, which state and the API cannot hold")
        self.assertIn("func.a: Creation complete", r.stdout)
        self.le("destroy", "stack.lua", "--yes", "--local")

    def test_an_argument_that_is_not_utf8(self):
        self.write("stack.lua", FUNC % ', description = "caf\\233"')
        r = self.le("plan", "stack.lua")
        self.assert_clean_error(r, "stack.lua:2: func.a: description: must be UTF-8 text (byte 4 is not)")

    # F9
    def test_a_default_must_have_the_declared_type(self):
        cases = {
            'var("n", { type = "number", default = "abc" })': 'variable "n": the default "abc" is not a number, '
                                                              'but type = "number"',
            'var("n", { type = "number", default = 1/0 })': 'variable "n": the default inf is not a finite number',
            'var("n", { type = "bool", default = "yes" })': 'variable "n": the default "yes" is not true or false',
            'var("n", { type = "string", default = 12 })': 'variable "n": the default 12 is not a string',
            'var("n", { type = "json", default = { f = print } })': 'variable "n": the default at f is a function',
        }
        for text, message in cases.items():
            self.write("vt.lua", text + "\n")
            self.assert_clean_error(self.le("plan", "vt.lua"), "vt.lua:1: " + message)
        # a default of the right type still plans, and --var still converts
        self.write("ok.lua", 'local n = var("n", { type = "number", default = 3 })\noutput("o", n + 1)\n')
        r = self.le("plan", "ok.lua", "--var", "n=12")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("+ o = 13", r.stdout)

    # F10
    def test_rough_edges(self):
        self.write("varval.lua", 'var("n", { default = "x", validate = function(v) error({}) end })\n')
        self.assert_clean_error(self.le("plan", "varval.lua"), 'varval.lua:1: variable "n" is invalid: '
                                'its validate function raised a table value instead of a message')
        self.write("coerr.lua", 'coroutine.wrap(function() error("in coroutine") end)()\n')
        r = self.le("plan", "coerr.lua")
        self.assert_clean_error(r, "Error: coerr.lua:1: in coroutine")
        self.assertNotIn("coerr.lua:1: coerr.lua:1:", r.stderr)
        self.write("mod.lua", 'require "nosuchmodule"\n')
        r = self.le("plan", "mod.lua")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("mod.lua:1: module 'nosuchmodule' not found", r.stderr)
        self.assertNotIn("no file ''", r.stderr)

    def test_empty_maps_show_as_maps(self):
        self.write("code/index.py", "def handler(event, context):\n    return event\n")
        self.write("stack.lua", FUNC % ", tags = {}")
        r = self.le("plan", "stack.lua")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = [" ".join(line.split()) for line in r.stdout.splitlines()]
        self.assertIn("+ tags = {}", lines)
        self.assertIn("+ tags_all = {}", lines)
        self.assertNotIn("[]", [line.split("= ")[-1] for line in lines if "tags" in line])

    def test_refresh_takes_true_or_false(self):
        self.write("code/index.py", "def handler(event, context):\n    return event\n")
        self.write("stack.lua", FUNC % "")
        self.assertEqual(self.le("run", "stack.lua", "--yes", "--local").returncode, 0)
        for flag in ("--refresh=false", "--refresh=true", "--no-refresh=true"):
            r = self.le("plan", "stack.lua", "--local", flag, "--detailed-exitcode")
            self.assertEqual(r.returncode, 0, flag + ": " + r.stdout + r.stderr)
        r = self.le("plan", "stack.lua", "--local", "--refresh=maybe")
        self.assertEqual(r.returncode, 1)
        self.assertIn("--refresh takes true or false (or no value), got \"maybe\"", r.stderr)
        self.le("destroy", "stack.lua", "--yes", "--local")

    # F5
    def test_a_result_that_is_not_utf8(self):
        path = self.write("code/bootstrap", RAW_BOOTSTRAP)
        os.chmod(path, 0o755)
        self.write("stack.lua", """local lambda = require "lambdaeng.lambda"
local f = lambda.func("raw", { function_name = "raw-bytes", runtime = "provided.al2023", handler = "x",
  role = "arn:aws:iam::123456789012:role/r", source = "code" })
local i = lambda.invocation("i", { function_name = f.function_name, input = '{}' })
output("r", i.result)
""")
        r = self.le("run", "stack.lua", "--yes", "--local")
        self.assert_clean_error(r, "invocation.i (declared at stack.lua:4): InvalidResult: function raw-bytes "
                                "returned a result that is not UTF-8 text (byte 2 of 25 is 0xFF)")
        self.assertNotIn("\x1b", r.stdout + r.stderr)
        # lambdaeng invoke: exact bytes to a pipe ...
        p = subprocess.run([LAMBDAENG, "invoke", "raw-bytes", "{}", "--local"], cwd=self.dir, capture_output=True,
                           timeout=120, env=dict(os.environ, HOME="/nonexistent-home"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, RAW + b"\n")
        # ... base64 (and said so) with --json ...
        r = self.le("invoke", "raw-bytes", "{}", "--local", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertNotIn("payload", doc)
        self.assertEqual(base64.b64decode(doc["payload_base64"]), RAW)
        # ... and escaped, never raw control bytes, on a terminal
        pid, fd = pty.fork()
        if pid == 0:
            os.chdir(self.dir)
            os.environ["HOME"] = "/nonexistent-home"
            os.execv(LAMBDAENG, [LAMBDAENG, "invoke", "raw-bytes", "{}", "--local"])
        seen = b""
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0, seen)
        self.assertIn(b'"\\xff\\xfe bad \\x00 utf8 \\x1b[31m red"', seen)
        self.assertNotIn(b"\x1b", seen)
        self.assertNotIn(b"\x00", seen)


if __name__ == "__main__":
    main()
