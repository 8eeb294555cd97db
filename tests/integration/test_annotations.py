"""The LuaLS annotations in editor/ are what scripts/gen_annotations.py makes from
the engine's schema and the reference documents, so every argument an editor
completes is one lambdaeng accepts, with its type and enum."""
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import LAMBDAENG, SOURCE  # noqa: E402


class Annotations(unittest.TestCase):
    def test_committed_file_is_current(self):
        fresh = subprocess.run([sys.executable, os.path.join(SOURCE, "scripts", "gen_annotations.py"), LAMBDAENG],
                               capture_output=True, text=True, check=True).stdout
        with open(os.path.join(SOURCE, "editor", "lambdaeng.lua")) as f:
            committed = f.read()
        self.assertEqual(committed, fresh, "run scripts/gen_annotations.py build/bin/lambdaeng editor/lambdaeng.lua")

    def test_surface_is_annotated(self):
        with open(os.path.join(SOURCE, "editor", "lambdaeng.lua")) as f:
            text = f.read()
        self.assertTrue(text.startswith("---@meta"))
        for cls in ("FuncArgs", "InvocationArgs", "EphemeralInvocationArgs", "ActionArgs", "ProviderArgs"):
            self.assertIn(f"---@class lambdaeng.{cls}\n", text)
        self.assertRegex(text, r'---@field lifecycle_scope\? "CREATE_ONLY"\|"CRUD"')
        self.assertRegex(text, r"---@field function_name string ")
        self.assertRegex(text, r"---@field memory_size\? integer .*128\.\.10240")
        for fn in ("function var(", "function output(", "function provider(", "function lookup(", "function fail("):
            self.assertIn(fn, text)
        fields = re.findall(r"---@field (\w+)", text)
        self.assertGreater(len(fields), 100)


if __name__ == "__main__":
    unittest.main(verbosity=2)
