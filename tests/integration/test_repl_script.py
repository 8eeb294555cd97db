"""The REPL for scripts and CI: `repl -e CHUNK` and piped standard input (no
terminal), against the embedded local target running a real Python handler.
Checks that stdout carries only what the script prints (no banner, no prompt, the
log tail on stderr only when the function failed), that an error points at the
user's input ((-e):1:, (stdin):N:) and never at the engine's files, that the first
error stops the script with status 1, and that a chunk left open at the end of
input is an error."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import LAMBDAENG, run  # noqa: E402

HANDLERS = """
def echo(event, context):
    print("log line from echo")
    return {"message": "hello, " + event.get("name", "?")}
def fail(event, context):
    print("about to fail")
    raise ValueError("boom")
"""

STACK = """
local lambda = require "lambdaeng.lambda"
local function fn(addr, name, handler)
  return lambda.func(addr, { function_name = name, runtime = "python3.12", handler = "index." .. handler,
    role = "arn:aws:iam::123456789012:role/r", source = "code", timeout = 5 })
end
greeter = fn("echo", "rs-echo", "echo")
fn("fail", "rs-fail", "fail")
"""


class ScriptedRepl(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="lambdaeng-repl-script-")
        os.makedirs(os.path.join(cls.dir, "code"))
        with open(os.path.join(cls.dir, "code", "index.py"), "w") as f:
            f.write(HANDLERS)
        cls.stack = os.path.join(cls.dir, "stack.lua")
        with open(cls.stack, "w") as f:
            f.write(STACK)
        cls.env = {"HOME": cls.dir, "LAMBDAENG_WAITER_DELAY": "0.05"}  # no AWS variables: the local target
        r = run("run", cls.stack, "--yes", env=cls.env, cwd=cls.dir)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "Target: local" in r.stdout, r.stdout

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def repl(self, *args, input=None):
        return run("repl", *args, self.stack, env=self.env, cwd=self.dir, input=input if input is not None else "")

    def assert_no_engine_path(self, text):
        self.assertNotIn("lambdaeng/repl.lua", text)
        self.assertNotIn("share/lambdaeng", text)
        self.assertNotIn("stack traceback", text)

    def test_without_a_stack_argument_the_directory_s_stack_lua_is_loaded(self):
        # As `terraform console` reads the working directory: no argument, ./stack.lua.
        r = run("repl", "-e", "print(greeter.function_name, #functions())", env=self.env, cwd=self.dir, input="")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stdout.split(), ["rs-echo", "2"])

    def test_e_prints_only_what_the_script_prints(self):
        r = self.repl("-e", 'print(invoke("rs-echo", { name = "ci" }).message)')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "hello, ci\n")
        self.assertNotIn("log line from echo", r.stdout + r.stderr)  # a success shows no log tail

    def test_e_chunks_in_turn_with_values_printed(self):
        # an address and a handle resolve to the function name; an expression's value is printed
        r = self.repl("-e", 'x = invoke("func.echo", { name = "a" })', "-e", "x.message",
                      "-e", 'invoke(greeter, { name = "b" }).message')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, '"hello, a"\n"hello, b"\n')

    def test_e_error_points_at_the_user_input_and_stops(self):
        r = self.repl("-e", "print('first')", "-e", "local y = nil\nreturn y + 1", "-e", "print('never')")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "first\n")
        self.assertIn("(-e):2: attempt to perform arithmetic on a nil value", r.stderr)
        # an error raised inside the engine's invoke() names the user's line, not the engine's
        r = self.repl("-e", "invoke(42)")
        self.assertEqual(r.returncode, 1)
        self.assertIn("(-e):1: invoke: expected a function handle, address or name", r.stderr)
        self.assert_no_engine_path(r.stderr)

    def test_function_error_in_a_script(self):
        r = self.repl("-e", 'v = invoke("rs-fail", {})', "-e", "print(v.errorMessage)")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "boom\n")
        self.assertIn("function error (Unhandled): ValueError: boom", r.stderr)
        self.assertIn("about to fail", r.stderr)  # the log tail, on stderr

    def test_piped_lines(self):
        script = ("total = 0\n"
                  "for i = 1, 3 do\n"
                  "  total = total + i\n"
                  "end\n"
                  "print(total)\n"
                  'print(invoke("rs-echo", { name = "pipe" }).message)\n')
        r = self.repl(input=script)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "6\nhello, pipe\n")  # no banner, no prompt
        self.assertEqual(r.stderr, "")

    def test_piped_error_names_its_line_and_stops(self):
        script = "print('one')\n\nfor i = 1, 2 do\nend\ninvoke(\"rs-missing\", {})\nprint('never')\n"
        r = self.repl(input=script)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "one\n")
        self.assertIn("(stdin):5: ResourceNotFoundException", r.stderr)
        self.assert_no_engine_path(r.stderr)
        r = self.repl(input="x = 1\nif x then\n  print(x)\n")  # the input ends inside a chunk
        self.assertEqual(r.returncode, 1)
        self.assertIn("(stdin):", r.stderr)
        self.assertIn("'end' expected", r.stderr)


class ReplWithoutAStack(unittest.TestCase):
    """A prompt opened in a directory with no stack, and no AWS configuration (the
    local target): it creates and locks nothing there (./.lambdaeng/local, the local
    target's directory and lock) until something actually talks to Lambda."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lambdaeng-repl-nostack-")
        self.env = {"HOME": self.dir}
        self.local_dir = os.path.join(self.dir, ".lambdaeng")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_plain_lua_claims_nothing(self):
        r = run("repl", "-e", "print(1 + 1)", env=self.env, cwd=self.dir, input="")
        self.assertEqual((r.returncode, r.stdout), (0, "2\n"), r.stderr)
        self.assertFalse(os.path.exists(self.local_dir), os.listdir(self.dir))

    def test_an_open_prompt_leaves_the_directory_to_other_commands(self):
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith("AWS_"))
        env.update(self.env, NO_COLOR="1", AWS_EC2_METADATA_DISABLED="true")
        prompt = subprocess.Popen([LAMBDAENG, "repl"], cwd=self.dir, env=env, text=True,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            prompt.stdin.write("print('ready')\n")
            prompt.stdin.flush()
            self.assertEqual(prompt.stdout.readline(), "ready\n")
            # the prompt is still open: the embedded target of another command may claim the directory
            r = run("api", "ListFunctions", env=self.env, cwd=self.dir)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertNotIn("in use", r.stderr)
        finally:
            out, err = prompt.communicate("", timeout=60)
        self.assertEqual(prompt.returncode, 0, err)

    def test_the_first_invoke_claims_it(self):
        r = run("repl", "-e", "print(1)", "-e", 'invoke("no-such-function")', env=self.env, cwd=self.dir, input="")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual(r.stdout, "1\n")
        self.assertIn("ResourceNotFoundException", r.stderr)  # the embedded target answered
        self.assertTrue(os.path.isfile(os.path.join(self.local_dir, "local", "lock")), r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
