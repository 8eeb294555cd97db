"""invoke's rough edges: --help lists every option the parser gives invoke (its own
and the options every command takes), and an invoke that fails leaves no
.lambdaeng/ in the current directory."""
import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import TempDirTest, run  # noqa: E402

OPTIONS_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cli_options.lua")


def parser_options():
    r = run("lua", OPTIONS_SCRIPT)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


class InvokeHelp(unittest.TestCase):
    def test_help_lists_every_option_invoke_accepts(self):
        options = parser_options()
        accepted = set(options["invoke"]["visible"]) | set(options[""]["visible"])
        self.assertTrue({"--qualifier", "--type", "--log", "--client-context", "--endpoint"} <= accepted)
        r = run("invoke", "--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        named = set(re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", r.stdout))
        self.assertEqual(sorted(accepted - named), [], r.stdout)
        # and it names nothing the parser would refuse
        self.assertEqual(sorted(named - accepted), [], r.stdout)
        # the options of other commands invoke also takes (hidden) are said to be ignored
        self.assertIn("ignored", r.stdout)


class InvokeLeavesNothing(TempDirTest):
    def env(self):
        return {"HOME": self.dir, "AWS_CONFIG_FILE": os.path.join(self.dir, "none"),
                "AWS_SHARED_CREDENTIALS_FILE": os.path.join(self.dir, "none")}

    def test_failed_invoke_creates_no_lambdaeng_directory(self):
        work = os.path.join(self.dir, "work")
        os.mkdir(work)
        r = run("invoke", "hello", cwd=work, env=self.env())
        self.assertEqual(r.returncode, 1)
        self.assertIn("ResourceNotFoundException: Function not found: arn:aws:lambda:us-east-1:000000000000:function:hello", r.stderr)
        self.assertIn("was not created", r.stderr)
        self.assertEqual(os.listdir(work), [])
        r = run("invoke", "hello", "--dir", "elsewhere", cwd=work, env=self.env())
        self.assertEqual(r.returncode, 1)
        self.assertEqual(os.listdir(work), [])
        r = run("invoke", "hello", "not json", cwd=work, env=self.env())
        self.assertEqual(r.returncode, 1)
        self.assertEqual(os.listdir(work), [])

    def test_invoke_still_reaches_an_existing_local_directory(self):
        work = os.path.join(self.dir, "work")
        os.makedirs(os.path.join(work, ".lambdaeng", "local"))
        r = run("invoke", "hello", cwd=work, env=self.env())
        self.assertEqual(r.returncode, 1)
        # the embedded target answered (its note names it), as before
        self.assertIn("ResourceNotFoundException", r.stderr)
        self.assertIn("the embedded local target", r.stderr)
        self.assertIn("answered", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
