"""Misusing references and error objects (issue 12, item 11): each is a clear
error at the user's file:line, never an internal error and never a silent wrong
value. An error object whose __tostring raises (at load, in a module, and in a
deferred map function at apply time); `#ref`, which Lua would make 0; `ref .. {}`
and other operands that can never be concatenated; a reference that resolves to a
table or nil and is concatenated."""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import TempDirTest, main, run  # noqa: E402

HEAD = """local lambda = require "lambdaeng.lambda"
local fn = lambda.func("echo", { function_name = "refs-echo", runtime = "python3.12", handler = "index.handler",
  role = "arn:aws:iam::123456789012:role/r", source = "code" })
local function two(description)
  local f = lambda.func("two", { function_name = "refs-two", runtime = "python3.12", handler = "index.handler",
    role = "arn:aws:iam::123456789012:role/r", source = "code", description = description }) return f
end
local BAD = setmetatable({}, { __tostring = function() error("tostring exploded") end })
"""  # the user's code starts on line 9

# (line 9 of the stack, what plan must say)
AT_PLAN = [
    ("error(BAD)", "stack.lua:9: error raised with a table value whose __tostring failed"),
    ("error(setmetatable({}, { __tostring = function() return 'custom failure' end }))",
     "stack.lua:9: custom failure"),
    ("two('len ' .. #fn.arn)", "stack.lua:9: cannot take the length of reference func.echo.arn with #"),
    ("two('n' .. #fn.function_name)", "stack.lua:9: cannot take the length of reference func.echo.function_name"),
    ("two(fn.arn .. {})", "stack.lua:9: cannot concatenate reference func.echo.arn with a table value"),
    ("two({} .. fn.function_name)", "stack.lua:9: cannot concatenate a table value with reference"),
    ("two(fn.arn .. true)", "stack.lua:9: cannot concatenate reference func.echo.arn with a boolean value"),
    ("two('x' .. fn.environment)", "stack.lua:9: cannot concatenate reference func.echo.environment: it is a nil"),
    ("require('mod')('m', {})", "mod.lua:3: error raised with a table value whose __tostring failed"),
]

MODULE = """return require("lambdaeng").module(function(opts)
  local bad = setmetatable({}, { __tostring = function() error("again") end })
  error(bad)
end)
"""

# Known only at apply time: the error names the line of the `..` or of the map function.
AT_APPLY = [
    ("two(fn.arn:map(function(a) error(BAD) end))",
     "stack.lua:9: error raised with a table value whose __tostring failed"),
    ("two('x' .. fn.arn:map(function(a) return { a } end))",
     "stack.lua:9: cannot concatenate reference func.echo.arn:map(...): it is a table value"),
]


class ReferenceErrors(TempDirTest):
    def setUp(self):
        super().setUp()
        self.write("code/index.py", "def handler(e, c):\n    return e\n")
        self.write("mod.lua", MODULE)

    def check_clean(self, r):
        text = (r.stdout + r.stderr).lower()
        self.assertNotIn("internal error", text)
        self.assertNotIn("stack traceback", text)
        self.assertNotIn("/share/lambdaeng/", text)  # no engine file named instead of the user's

    def test_errors_at_plan_name_the_users_line(self):
        for line, expect in AT_PLAN:
            with self.subTest(line=line):
                stack = self.write("stack.lua", HEAD + line + "\n")
                for cmd in ("validate", "plan"):
                    r = run(cmd, stack, cwd=self.dir)
                    self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                    self.assertIn(expect, r.stderr)
                    self.check_clean(r)

    def test_errors_at_apply_name_the_users_line(self):
        for line, expect in AT_APPLY:
            with self.subTest(line=line):
                shutil.rmtree(os.path.join(self.dir, ".lambdaeng"), ignore_errors=True)  # nothing known yet
                stack = self.write("stack.lua", HEAD + line + "\n")
                r = run("run", stack, "--yes", cwd=self.dir, env={"LAMBDAENG_WAITER_DELAY": "0.05"})
                self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                self.assertIn("func.two (declared at stack.lua:5): StackError: " + expect, r.stderr)
                self.check_clean(r)


if __name__ == "__main__":
    main()
