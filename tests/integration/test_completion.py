"""Shell completion: `lambdaeng completion bash|zsh|fish` prints a script; each is
loaded in the real shell and asked for candidates -- commands, options (the argparse
parser's, checked against it), sub-commands, the stack's addresses (./stack.lua or
the stack argument) and the function names of its state. A stack's code runs on Tab only
once the user has run a command on it (trust.lua): Tab in someone else's directory runs
nothing of theirs."""
import json
import os
import shlex
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import LAMBDAENG, TempDirTest, run  # noqa: E402

OPTIONS_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cli_options.lua")

STACK = """
local lambda = require "lambdaeng.lambda"
local f = lambda.func("hello", { function_name = "hello-fn", runtime = "python3.12", handler = "index.handler",
                                 role = "arn:aws:iam::123456789012:role/r", source = "./code" })
lambda.func("other", { function_name = "other-fn", runtime = "python3.12", handler = "index.handler",
                       role = "arn:aws:iam::123456789012:role/r", source = "./code" })
lambda.invocation("greet", { function_name = f.function_name, input = { name = "x" } })
print("a stack that prints while it loads")
"""


class Completion(TempDirTest):
    def setUp(self):
        super().setUp()
        self.work = os.path.join(self.dir, "work")
        self.write("work/stack.lua", STACK)
        self.write("work/code/index.py", "def handler(event, context):\n    return event\n")
        self.env = dict(os.environ, HOME=self.dir, NO_COLOR="1", AWS_CONFIG_FILE=os.path.join(self.dir, "none"),
                        AWS_SHARED_CREDENTIALS_FILE=os.path.join(self.dir, "none"),
                        PATH=os.path.dirname(os.path.abspath(LAMBDAENG)) + os.pathsep + os.environ["PATH"])
        for k in [k for k in self.env if k.startswith("AWS_") and k not in ("AWS_CONFIG_FILE",
                                                                          "AWS_SHARED_CREDENTIALS_FILE")]:
            del self.env[k]
        self.scripts = {}
        for shell in ("bash", "zsh", "fish"):
            r = run("completion", shell)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.scripts[shell] = self.write(f"completion.{shell}", r.stdout)

    def bash(self, *words, cwd=None):
        """COMPREPLY for the line `words` (the last one being completed), in a real bash."""
        quoted = " ".join(shlex.quote(w) for w in words)
        script = (f"source {self.scripts['bash']}\n"
                  "complete -p lambdaeng >&2\n"
                  f"COMP_WORDS=(lambdaeng {quoted})\n"
                  f"COMP_CWORD={len(words)}\n"
                  "_lambdaeng_complete\n"
                  "printf '%s\\n' \"${COMPREPLY[@]}\"\n")
        r = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], cwd=cwd or self.work, env=self.env,
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("complete -F _lambdaeng_complete lambdaeng", r.stderr)
        return [line for line in r.stdout.split("\n") if line]

    def trust(self, cwd=None):
        """Runs a command on the stack, as its user would before pressing Tab."""
        r = run("validate", "stack.lua", cwd=cwd or self.work, env={"HOME": self.dir})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_bash_commands_options_and_subcommands(self):
        self.assertEqual(self.bash("pl"), ["plan"])
        self.assertIn("completion", self.bash(""))
        self.assertNotIn("lua", self.bash(""))  # the internal command stays out
        self.assertEqual(self.bash("state", ""), ["history", "list", "migrate", "mv", "pull", "push", "restore",
                                                  "rm", "show"])
        self.assertEqual(self.bash("completion", ""), ["bash", "fish", "zsh"])
        self.assertEqual(self.bash("invoke", "x", "--type", ""), ["DryRun", "Event", "RequestResponse"])

    def test_options_are_the_parsers(self):
        r = run("lua", OPTIONS_SCRIPT)
        self.assertEqual(r.returncode, 0, r.stderr)
        options = json.loads(r.stdout)
        for command in ("invoke", "plan", "run"):
            expected = sorted(o for o in set(options[command]["visible"]) | set(options[""]["visible"])
                              if o.startswith("--"))
            self.assertEqual(self.bash(command, "--"), expected, command)
        self.assertNotIn("--force-unlock-id", self.bash("plan", "--force"))
        self.assertNotIn("--yes", self.bash("invoke", "--"))  # another command's option, hidden in invoke

    def test_bash_addresses_from_the_stack(self):
        self.assertEqual(self.bash("plan", "--target", ""), [])  # never run here: its code is not run
        self.trust()
        self.assertEqual(self.bash("plan", "--target", ""), ["func.hello", "func.other", "invocation.greet"])
        self.assertEqual(self.bash("plan", "--target", "func."), ["func.hello", "func.other"])
        self.assertEqual(self.bash("state", "show", "inv"), ["invocation.greet"])
        self.assertEqual(self.bash("plan", "--target", "=", "func.o"), ["func.other"])  # bash splits at "="
        # the stack argument, from another directory
        elsewhere = os.path.join(self.dir, "elsewhere")
        os.mkdir(elsewhere)
        self.assertEqual(self.bash("plan", "../work/stack.lua", "--replace", "func.h", cwd=elsewhere), ["func.hello"])
        self.assertEqual(self.bash("plan", "--replace", "func.h", cwd=elsewhere), [])
        # a stack argument's position completes file names (bash's own, via compopt)
        self.assertEqual(self.bash("plan", "st"), [])

    def test_bash_function_names_from_state(self):
        self.assertEqual(self.bash("invoke", ""), [])  # nothing applied yet
        r = run("run", "stack.lua", "--yes", "--local", cwd=self.work, env={"HOME": self.dir}, timeout=240)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.bash("invoke", ""), ["hello-fn", "other-fn"])
        self.assertEqual(self.bash("invoke", "o"), ["other-fn"])

    def test_tab_never_runs_a_stack_its_user_has_not_run(self):
        marker = os.path.join(self.dir, "ran")
        hostile = STACK + f"io.open({marker!r}, 'w'):write('stack code ran')\n"
        self.write("cloned/stack.lua", hostile)
        self.write("cloned/code/index.py", "def handler(event, context):\n    return event\n")
        cloned = os.path.join(self.dir, "cloned")
        for words in (("plan", "--target", ""), ("state", "show", ""), ("invoke", "")):
            self.assertEqual(self.bash(*words, cwd=cloned), [], words)
        self.assertFalse(os.path.exists(marker), "Tab ran the code of a stack nobody had run")
        # once its user runs a command on it, Tab may run it (it would run on that command anyway)
        self.trust(cwd=cloned)
        os.remove(marker)
        self.assertEqual(self.bash("plan", "--target", "func.", cwd=cloned), ["func.hello", "func.other"])
        self.assertTrue(os.path.exists(marker))
        # a trust list another user could have written is not believed
        trusted = os.path.join(self.dir, ".local", "state", "lambdaeng", "trusted-stacks")
        self.assertEqual(os.stat(trusted).st_mode & 0o777, 0o600)
        os.remove(marker)
        os.chmod(trusted, 0o620)
        self.assertEqual(self.bash("plan", "--target", "func.", cwd=cloned), [])
        self.assertFalse(os.path.exists(marker))
        os.chmod(trusted, 0o600)
        # a link in its place is not followed either
        os.rename(trusted, trusted + ".real")
        os.symlink(trusted + ".real", trusted)
        self.assertEqual(self.bash("plan", "--target", "func.", cwd=cloned), [])
        self.assertFalse(os.path.exists(marker))

    def test_the_trust_list_forgets_stacks_that_are_gone(self):
        trusted = os.path.join(self.dir, ".local", "state", "lambdaeng", "trusted-stacks")
        os.makedirs(os.path.dirname(trusted))
        gone = [os.path.join(self.dir, f"gone-{i}", "stack.lua") for i in range(300)]
        with open(trusted, "w") as f:
            f.write("".join(p + "\n" for p in gone) + os.path.join(self.work, "stack.lua") + "\n")
        os.chmod(trusted, 0o600)
        self.trust()  # already listed: nothing rewritten
        with open(trusted) as f:
            self.assertEqual(len(f.read().split()), 301)
        self.write("other/stack.lua", STACK)
        self.write("other/code/index.py", "def handler(event, context):\n    return event\n")
        self.trust(cwd=os.path.join(self.dir, "other"))  # a new one, on a long list: the gone ones leave
        with open(trusted) as f:
            self.assertEqual(sorted(f.read().split()), sorted(os.path.realpath(os.path.join(self.dir, d, "stack.lua"))
                                                                for d in ("work", "other")))
        self.assertEqual(os.stat(trusted).st_mode & 0o777, 0o600)
        self.assertEqual(self.bash("plan", "--target", "func.o"), ["func.other"])

    def test_a_home_that_does_not_exist_is_not_made(self):
        missing = os.path.join(self.dir, "missing-home")
        r = run("validate", "stack.lua", cwd=self.work, env={"HOME": missing})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertFalse(os.path.exists(missing))

    def test_untrusted_stack_completes_from_its_state(self):
        r = run("run", "stack.lua", "--yes", "--local", cwd=self.work, env={"HOME": self.dir}, timeout=240)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        copy = os.path.join(self.dir, "copy")
        shutil.copytree(self.work, copy)  # another path: never run there
        marker = os.path.join(self.dir, "ran")
        with open(os.path.join(copy, "stack.lua"), "a") as f:
            f.write(f"io.open({marker!r}, 'w'):write('stack code ran')\n")
        self.assertEqual(self.bash("invoke", "", cwd=copy), ["hello-fn", "other-fn"])
        self.assertEqual(self.bash("state", "show", "func.o", cwd=copy), ["func.other"])
        self.assertFalse(os.path.exists(marker))

    def test_zsh(self):
        if shutil.which("zsh") is None:
            self.fail("zsh is missing (scripts/deps.sh installs it)")
        self.trust()
        r = subprocess.run(["zsh", "-n", self.scripts["zsh"]], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        # the completion function itself, in a real zsh; compadd and _files stand in for the
        # completion system's builtins (they exist only inside a Tab press)
        script = ("compdef() { print -r -- \"compdef $*\" }\n"
                  "compadd() { shift 2; print -rl -- \"$@\" }\n"
                  "_files() { print -r -- '<files>' }\n"
                  f"source {self.scripts['zsh']}\n"
                  "words=(lambdaeng plan --target func.); CURRENT=4; _lambdaeng\n"
                  "words=(lambdaeng pla); CURRENT=2; _lambdaeng\n"
                  "words=(lambdaeng plan ''); CURRENT=3; _lambdaeng\n")
        r = subprocess.run(["zsh", "-f", "-c", script], cwd=self.work, env=self.env, capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split("\n")[:-1],
                         ["compdef _lambdaeng lambdaeng", "func.hello", "func.other", "plan", "<files>"])

    def test_fish(self):
        if shutil.which("fish") is None:
            self.fail("fish is missing (scripts/deps.sh installs it)")
        self.trust()
        r = subprocess.run(["fish", "-n", self.scripts["fish"]], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        script = (f"source {self.scripts['fish']}\n"
                  "complete -C 'lambdaeng plan --target func.'\n"
                  "echo ---\n"
                  "complete -C 'lambdaeng sta'\n"
                  "echo ---\n"
                  "complete -C 'lambdaeng plan st'\n"
                  "echo ---\n"
                  "complete -C 'lambdaeng plan --target=func.o'\n")
        r = subprocess.run(["fish", "--no-config", "-c", script], cwd=self.work, env=self.env, capture_output=True,
                           text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        parts = [[line.split("\t")[0] for line in p.strip().split("\n") if line] for p in r.stdout.split("---")]
        self.assertEqual(parts[0], ["func.hello", "func.other"])
        self.assertEqual(parts[1], ["state"])
        self.assertEqual(parts[2], ["stack.lua"])  # a file, fish's own completion
        self.assertEqual(parts[3], ["--target=func.other"])

    def test_unknown_shell(self):
        r = run("completion", "tcsh")
        self.assertEqual(r.returncode, 1)
        self.assertIn("bash|zsh|fish", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
