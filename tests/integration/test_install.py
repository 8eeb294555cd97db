"""`cmake --install` puts a working lambdaeng under a prefix: the binary finds its
Lua half relative to itself, from any working directory, even when invoked
through a symlink, and the build tree never needs to be the current directory."""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import BUILD, SOURCE, TempDirTest, main  # noqa: E402


class Install(TempDirTest):
    def test_installed_tree_works_from_anywhere(self):
        prefix = os.path.join(self.dir, "prefix")
        r = subprocess.run(["cmake", "--install", BUILD, "--prefix", prefix], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        binary = os.path.join(prefix, "bin", "lambdaeng")
        self.assertTrue(os.path.isfile(os.path.join(prefix, "share/lambdaeng/lua/lambdaeng/cli/init.lua")))
        self.assertTrue(os.path.isfile(os.path.join(prefix, "share/lambdaeng/stdlib/lambdaeng/json.lua")))
        # Move the source and build trees out of reach: the installed binary must not need them.
        example = shutil.copytree(os.path.join(SOURCE, "examples/hello"), os.path.join(self.dir, "hello"),
                                  ignore=shutil.ignore_patterns(".lambdaeng"))
        link = os.path.join(self.dir, "le")
        os.symlink(binary, link)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "LAMBDAENG_HOME"}
        env.update(NO_COLOR="1", HOME="/nonexistent-home")
        for exe in (binary, link):
            r = subprocess.run([exe, "plan", os.path.join(example, "stack.lua")], cwd="/", env=env,
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("Plan: 2 to add, 0 to change, 0 to destroy.", r.stdout)
        r = subprocess.run([binary, "version"], capture_output=True, text=True, cwd="/")
        self.assertTrue(r.stdout.startswith("lambdaeng "))

    def test_moved_build_tree_works(self):
        """The build tree's Lua half is bytecode that keeps the path it was compiled at: a
        copy of bin/ and share/ elsewhere must still tell its own files from the stack's
        (a `source` path is resolved against the stack's directory, not lambdaeng's)."""
        moved = os.path.join(self.dir, "moved")
        os.makedirs(os.path.join(moved, "bin"))
        shutil.copy(os.path.join(BUILD, "bin", "lambdaeng"), os.path.join(moved, "bin", "lambdaeng"))
        shutil.copytree(os.path.join(BUILD, "share"), os.path.join(moved, "share"))
        example = shutil.copytree(os.path.join(SOURCE, "examples/hello"), os.path.join(self.dir, "hello"),
                                  ignore=shutil.ignore_patterns(".lambdaeng"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "LAMBDAENG_HOME"}
        env.update(NO_COLOR="1", HOME="/nonexistent-home")
        r = subprocess.run([os.path.join(moved, "bin", "lambdaeng"), "plan", os.path.join(example, "stack.lua")],
                           cwd="/", env=env, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Plan: 2 to add, 0 to change, 0 to destroy.", r.stdout)
        self.assertIn("hello/stack.lua:", r.stdout)  # the sites shown are the stack's

    def test_build_tree_loads_argparse_compiled(self):
        """Debian's lua-argparse is compiled to bytecode with the Lua half and found before
        its source: a start does not parse its 2,000 lines (7 M instructions)."""
        script = os.path.join(self.dir, "where.lua")
        with open(script, "w") as f:
            f.write("print(package.searchpath('argparse', package.path))\n")
        r = subprocess.run([os.path.join(BUILD, "bin", "lambdaeng"), "lua", script], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        found = r.stdout.strip()
        self.assertEqual(found, os.path.join(BUILD, "share", "lambdaeng", "lua", "argparse.lua"))
        with open(found, "rb") as f:
            self.assertEqual(f.read(4), b"\x1bLua")

    def test_missing_lua_half_is_a_clear_error(self):
        lonely = os.path.join(self.dir, "bin", "lambdaeng")
        os.makedirs(os.path.dirname(lonely))
        shutil.copy(os.path.join(BUILD, "bin", "lambdaeng"), lonely)
        env = {k: v for k, v in os.environ.items() if k != "LAMBDAENG_HOME"}
        r = subprocess.run([lonely, "plan", "x.lua"], capture_output=True, text=True, env=env)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot find lambdaeng's Lua files", r.stderr)


if __name__ == "__main__":
    main()
