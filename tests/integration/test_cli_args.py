"""The command line's rough edges (issue 18): `apply` as `run`, an extra positional
argument, ./stack.lua when no stack is named and DIR/stack.lua for a directory, every
option value checked (--parallelism 0 used to end in "internal error"), an undeclared
--var is an error, --var-file in Lua and JSON with typed values, LAMBDAENG_VAR_<name>
with the name's own case. The applies go to moto; boto3 checks the result."""
import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import run  # noqa: E402
from peers import Moto  # noqa: E402

STACK = r'''
local lambda = require "lambdaeng.lambda"
local role = var("role_arn")
local memory = var("memory", { type = "number", default = 128 })
local stage = var("Stage", { default = "dev" })
local tags = var("tags", { type = "json", default = {} })
lambda.func("f", { function_name = "args-" .. stage, role = role, runtime = "python3.12",
                   handler = "app.handler", source = "fn", memory_size = memory, tags = tags })
'''


class CommandLine(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = Moto(signed=True)

    @classmethod
    def tearDownClass(cls):
        cls.moto.stop()

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="lambdaeng-args-")
        self.addCleanup(shutil.rmtree, self.work, True)
        os.makedirs(os.path.join(self.work, "app", "fn"))
        with open(os.path.join(self.work, "app", "stack.lua"), "w") as f:
            f.write(STACK)
        with open(os.path.join(self.work, "app", "fn", "app.py"), "w") as f:
            f.write("def handler(event, context):\n    return 1\n")

    def le(self, *args, cwd="app", env=None):
        full = dict(self.moto.env(), LAMBDAENG_WAITER_DELAY="0.1", **(env or {}))
        return run(*args, "--endpoint", self.moto.endpoint, cwd=os.path.join(self.work, cwd), env=full, timeout=300)

    def failed(self, r, text):
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(text, r.stderr)
        self.assertNotIn("internal error", r.stderr)

    def planned(self):
        """The arguments of the one change in the saved plan app/p.plan."""
        with open(os.path.join(self.work, "app", "p.plan")) as f:
            return json.load(f)["changes"][0]["after"]

    def write(self, rel, text):
        with open(os.path.join(self.work, rel), "w") as f:
            f.write(text)

    def test_apply_is_run_and_the_stack_defaults_to_the_directory(self):
        role = "role_arn=" + self.moto.role_arn
        # no stack named: ./stack.lua; a directory: its stack.lua; `apply` is `run`
        r = self.le("plan", "--var", role)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('func.f will be created', r.stdout)
        r = self.le("validate", "app", "--var", role, cwd=".")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.le("apply", "app", "--var", role, "--var", "Stage=prod", "--yes", cwd=".")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("Apply complete! Resources: 1 added", r.stdout)
        self.moto.boto3().get_function(FunctionName="args-prod")
        self.assertTrue(os.path.exists(os.path.join(self.work, "app", ".lambdaeng", "stack.state.json")))
        r = self.le("state", "list", "app", cwd=".")
        self.assertEqual(r.stdout.split(), ["func.f"], r.stderr)
        r = self.le("output", "app", cwd=".")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.le("plan", "--var", role, "--var", "Stage=prod", "--detailed-exitcode")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = self.le("destroy", "--var", role, "--var", "Stage=prod", "--yes")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # errors: an extra argument, a directory without stack.lua, no stack here
        self.failed(self.le("plan", "stack.lua", "extra"), "too many arguments: lambdaeng plan takes")
        self.failed(self.le("apply", "stack.lua", "extra", "--yes"), "too many arguments: lambdaeng apply takes")
        self.failed(self.le("plan", "fn"), "fn is a directory without a stack.lua")
        self.failed(self.le("plan", cwd="."), "there is no stack.lua here")

    def test_a_command_accepts_every_commands_options(self):
        """Scripts pass one set of options to every command: an option only another command
        declares is accepted (and means nothing); one no command declares is an error."""
        role = "role_arn=" + self.moto.role_arn
        r = self.le("plan", "--var", role, "--yes", "--detailed-exitcode")  # run's --yes
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        r = self.le("validate", "--var", role, "--yes", "--detailed-exitcode")  # and plan's --detailed-exitcode
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.failed(self.le("plan", "--var", role, "--no-such-option"), "unknown option --no-such-option")

    def test_every_option_value_is_checked(self):
        role = "role_arn=" + self.moto.role_arn
        for value in ("0", "-1", "abc", "1.5", ""):
            self.failed(self.le("run", "--var", role, "--yes", "--parallelism=" + value),
                        "--parallelism takes a whole number from 1 to 10000, got")
        self.failed(self.le("plan", "--var", role, "--lock-timeout", "soon"),
                    '--lock-timeout takes a duration such as 60s, 2m or 1h30m (or a number of seconds), got "soon"')
        self.failed(self.le("plan", "--var", role, "--region", "EU West"), "--region takes a region name")
        self.failed(run("plan", "--endpoint", "localhost:4566", cwd=os.path.join(self.work, "app")),
                    "--endpoint takes a URL starting with http:// or https://")
        self.failed(self.le("plan", "--var", role, "--target", ""), "--target needs a value")
        self.failed(self.le("plan", "--var", "role_arn"), '--var expects NAME=VALUE, got "role_arn"')
        # good values pass
        r = self.le("plan", "--var", role, "--parallelism", "4", "--lock-timeout", "1m30s")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_variables_from_var_files_environment_and_var(self):
        role = "role_arn=" + self.moto.role_arn
        # an undeclared --var is an error (Terraform's), with the nearest name
        self.failed(self.le("plan", "--var", role, "--var", "memroy=256"),
                    '--var memroy: the stack declares no variable "memroy" (declare it with var("memroy"); did '
                    'you mean memory?)')
        # a Lua var file and a JSON one, typed; --var wins over both, the later file over the earlier
        self.write("app/vars.lua", 'memory = 256\ntags = { team = "core" }\nStage = "lua"\nunused = 1\n')
        self.write("app/vars.json", json.dumps({"role_arn": self.moto.role_arn, "Stage": "json"}))
        r = self.le("plan", "--var-file", "vars.lua", "--var-file", "vars.json", "-out", "p.plan")
        self.assertEqual(r.returncode, 0, r.stderr)
        after = self.planned()
        self.assertEqual((after["memory_size"], after["tags"], after["function_name"]),
                         (256, {"team": "core"}, "args-json"))
        self.assertIn('Warning: --var-file vars.lua sets "unused", which the stack does not declare', r.stderr)
        r = self.le("run", "--var-file", "vars.lua", "--var-file", "vars.json", "--var", "memory=512", "--yes")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        cfg = self.moto.boto3().get_function(FunctionName="args-json")
        self.assertEqual(cfg["Configuration"]["MemorySize"], 512)
        self.assertEqual(cfg["Tags"], {"team": "core"})
        # a value of the wrong type, a file that does not parse, one that is missing
        self.write("app/bad.json", json.dumps({"memory": "big"}))
        self.failed(self.le("plan", "--var", role, "--var-file", "bad.json"),
                    'variable "memory": the value in bad.json "big" is not a number (the variable is of type number)')
        self.write("app/broken.lua", "memory = = 2\n")
        self.failed(self.le("plan", "--var", role, "--var-file", "broken.lua"), "--var-file broken.lua:1:")
        self.failed(self.le("plan", "--var", role, "--var-file", "nope.json"), "--var-file nope.json: no such file")
        # LAMBDAENG_VAR_<name> with the name spelled as declared; another case is not it, and says so
        r = self.le("plan", "-out", "p.plan",
                    env={"LAMBDAENG_VAR_role_arn": self.moto.role_arn, "LAMBDAENG_VAR_Stage": "env"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.planned()["function_name"], "args-env")
        r = self.le("plan", env={"LAMBDAENG_VAR_ROLE_ARN": self.moto.role_arn, "LAMBDAENG_VAR_STAGE": "x"})
        self.failed(r, 'variable "role_arn" has no value: pass --var role_arn=VALUE or set LAMBDAENG_VAR_role_arn; '
                    'LAMBDAENG_VAR_ROLE_ARN is set, but the name is case-sensitive')
        r = self.le("plan", "--var", role, env={"LAMBDAENG_VAR_STAGE": "x"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('variable "Stage" uses its default: LAMBDAENG_VAR_STAGE is set, but LAMBDAENG_VAR_ names are '
                      'case-sensitive (LAMBDAENG_VAR_Stage)', r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
