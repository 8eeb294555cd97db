#!/usr/bin/env python3
"""Structural rules of the source tree that no compiler checks (issue 15).

- The Debian package list lives in one place, scripts/deps.sh: no other file of the
  tree names two or more of its -dev packages (a second list drifts from the first).
- Every libuv and libcurl call in engine/ has its result looked at: a statement that
  starts with a uv_* or curl_* call discards what it returns, which is allowed only
  for the functions that return nothing.
- C enters Lua through loop.h only: lua_pcall in runtime.c (le_pcall_traceback, under
  le_callback_call for callbacks) and in loop.c (le_callback_catch, for a caller that
  hands the error on), lua_resume in loop.c (le_task_resume).
- The command line's layout: every command module cli/init.lua dispatches to declares
  its help, its options (add_to_parser) and command(args); "Error: " is printed by the
  dispatcher's ui.finish alone (and written into --json diagnostics by cli/events.lua).
- The commands sit over the rest: no module outside lua/lambdaeng/cli/ requires one
  of lambdaeng.cli.*.
- Every symbol engine/ exports has the project's prefix le_ (a file's helper is static,
  or declared with its prefix in the header of the files that share it): nm of the
  engine's library ($LAMBDAENG_CORE, as ctest sets it), where curlload.c's forwarders
  alone keep libcurl's names.

The tree is $LAMBDAENG_SOURCE (as ctest sets it), else the one this file is in.
"""
import os
import re
import subprocess
import unittest

SOURCE = os.path.abspath(os.environ.get("LAMBDAENG_SOURCE") or os.path.join(os.path.dirname(__file__), ".."))

# libuv and libcurl functions declared void: nothing to check.
VOID_CALLS = {
    "uv_close", "uv_ref", "uv_unref", "uv_walk", "uv_stop", "uv_update_time", "uv_library_shutdown",
    "curl_free", "curl_easy_cleanup", "curl_slist_free_all", "curl_url_cleanup", "curl_global_cleanup",
    "curl_easy_reset", "uv_freeaddrinfo", "uv_mutex_lock", "uv_mutex_unlock", "uv_mutex_destroy", "uv_cond_signal", "uv_cond_broadcast",
    "uv_cond_wait", "uv_cond_destroy", "uv_once",  # (these return void)
}


def tracked_files():
    """The files git tracks; outside a checkout, every file but build trees'."""
    try:
        out = subprocess.run(["git", "-C", SOURCE, "ls-files", "-z"], capture_output=True, check=True).stdout
        return [name for name in out.decode().split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        names = []
        for root, dirs, files in os.walk(SOURCE):
            dirs[:] = [d for d in dirs if not d.startswith((".git", "build"))]
            names += [os.path.relpath(os.path.join(root, f), SOURCE) for f in files]
        return names


def deps_packages():
    with open(os.path.join(SOURCE, "scripts", "deps.sh"), encoding="utf-8") as f:
        text = f.read()
    block = re.search(r"^PACKAGES=\((.*?)^\)", text, re.S | re.M)
    assert block, "scripts/deps.sh has no PACKAGES=( ... ) list"
    return set(block.group(1).split())


def discarded_calls(text):
    """(line, function) of each statement that starts with a uv_*/curl_* call."""
    found, previous = [], ";"
    for number, line in enumerate(text.splitlines(), 1):
        m = re.match(r"\s*((?:uv|curl)_[a-z_0-9]+)\s*\(", line)  # a (void) cast is a decision, said so
        continues = previous.endswith(("&&", "||", ",", "(", "=", "?", "+", "-", "|"))  # inside an expression
        if m and not continues:
            found.append((number, m.group(1)))
        if line.strip():
            previous = line.strip()
    return found


# The engine's symbols that keep another name: curlload.c forwards libcurl's API by its own
# names (curlload.h).
FOREIGN_NAMES = {"curlload.c.o": re.compile(r"curl_[a-z_]+$")}


def unprefixed_symbols(archive):
    """(object, symbol) of each symbol the archive's objects define for others."""
    out = subprocess.run(["nm", "-g", "--defined-only", archive], capture_output=True, text=True, check=True).stdout
    found, member = [], None
    for line in out.splitlines():
        if line.endswith(":") and " " not in line:
            member = line[:-1]
            continue
        parts = line.split()
        if len(parts) != 3:
            continue
        name = parts[2]
        if name.startswith("__"):  # the compiler's own (ASan's __odr_asan.le_...): reserved names
            continue
        foreign = FOREIGN_NAMES.get(member)
        if not name.startswith("le_") and not (foreign and foreign.match(name)):
            found.append((member, name))
    return found


class Structure(unittest.TestCase):
    def test_engine_symbols_have_the_prefix(self):
        archive = os.environ.get("LAMBDAENG_CORE")
        if not archive:
            self.skipTest("LAMBDAENG_CORE (the engine's library, as ctest sets it) not given")
        self.assertTrue(os.path.isfile(archive), archive)
        found = unprefixed_symbols(archive)
        members = subprocess.run(["ar", "t", archive], capture_output=True, text=True, check=True).stdout.split()
        self.assertIn("state.c.o", members)  # the library nm read is the engine's
        self.assertEqual([f"{member}: {name}" for member, name in found], [],
                         "a symbol engine/ exports without the le_ prefix: make it static, or name it le_...")


    def test_package_list_only_in_deps_sh(self):
        dev = {p for p in deps_packages() if p.endswith("-dev")}
        self.assertGreater(len(dev), 5, "scripts/deps.sh should list the -dev packages")
        offenders = []
        for name in tracked_files():
            if name == "scripts/deps.sh" or not os.path.isfile(os.path.join(SOURCE, name)):
                continue
            try:
                with open(os.path.join(SOURCE, name), encoding="utf-8") as f:
                    words = set(re.findall(r"[a-z0-9][a-z0-9.+-]*-dev\b", f.read()))
            except (UnicodeDecodeError, OSError):
                continue
            named = sorted(words & dev)
            if len(named) >= 2:
                offenders.append(f"{name}: {', '.join(named)}")
        self.assertEqual(offenders, [], "a second Debian package list (scripts/deps.sh is the one list)")

    def test_every_uv_and_curl_result_is_looked_at(self):
        engine = os.path.join(SOURCE, "engine")
        offenders = []
        for name in sorted(os.listdir(engine)):
            if not name.endswith(".c"):
                continue
            with open(os.path.join(engine, name), encoding="utf-8") as f:
                for line, fn in discarded_calls(f.read()):
                    if fn not in VOID_CALLS:
                        offenders.append(f"engine/{name}:{line}: {fn}() result discarded")
        self.assertEqual(offenders, [], "check the return code (le_uv_check in callbacks)")

    def test_lua_is_entered_from_c_in_two_places(self):
        engine = os.path.join(SOURCE, "engine")
        allowed = {("runtime.c", "lua_pcall"), ("loop.c", "lua_resume"), ("loop.c", "lua_pcall")}
        found = []
        for name in sorted(os.listdir(engine)):
            if name.endswith((".c", ".h")):
                with open(os.path.join(engine, name), encoding="utf-8") as f:
                    for number, line in enumerate(f, 1):
                        for fn in re.findall(r"\b(lua_pcallk?|lua_resume|lua_callk?)\s*\(", line):
                            if (name, fn) not in allowed:
                                found.append(f"engine/{name}:{number}: {fn}")
        self.assertEqual(found, [], "enter Lua through le_callback_call or le_task_resume (loop.h)")

    def test_every_command_module_declares_help_options_and_command(self):
        cli = os.path.join(SOURCE, "lua", "lambdaeng", "cli")
        with open(os.path.join(cli, "init.lua"), encoding="utf-8") as f:
            listed = re.search(r"local MODULES = \{(.*?)\}", f.read(), re.S)
        self.assertTrue(listed, "cli/init.lua has no MODULES list")
        names = re.findall(r'"([a-z_]+)"', listed.group(1))
        self.assertGreater(len(names), 10)
        missing = []
        for name in names:
            with open(os.path.join(cli, name + ".lua"), encoding="utf-8") as f:
                text = f.read()
            for pattern, what in ((r"^M\.help = ", "M.help"), (r"^function M\.add_to_parser\(", "add_to_parser"),
                                  (r"^function M\.command\(", "command")):
                if not re.search(pattern, text, re.M):
                    missing.append(f"cli/{name}.lua: no {what}")
        self.assertEqual(missing, [], "a command module declares its help, options and command (cli/init.lua)")

    def test_error_lines_are_printed_by_the_dispatcher_alone(self):
        lua = os.path.join(SOURCE, "lua")
        allowed = {"lambdaeng/cli/ui.lua", "lambdaeng/cli/events.lua"}
        found = []
        for root, _, files in os.walk(lua):
            for name in files:
                rel = os.path.relpath(os.path.join(root, name), lua)
                if not name.endswith(".lua") or rel in allowed:
                    continue
                with open(os.path.join(root, name), encoding="utf-8") as f:
                    for number, line in enumerate(f, 1):
                        code = line.split("--", 1)[0]
                        if '"Error: ' in code or "'Error: " in code:
                            found.append(f"lua/{rel}:{number}")
        self.assertEqual(found, [], "return nil, err; cli/init.lua's ui.finish prints it")

    def test_nothing_below_the_commands_requires_them(self):
        top = os.path.join(SOURCE, "lua", "lambdaeng")
        found = []
        for root, _, files in os.walk(top):
            if os.path.relpath(root, top).split(os.sep)[0] == "cli":
                continue
            for name in files:
                if name.endswith(".lua"):
                    with open(os.path.join(root, name), encoding="utf-8") as f:
                        for number, line in enumerate(f, 1):
                            if re.search(r"require\s*\(?\s*[\"']lambdaeng\.cli[\".]", line.split("--", 1)[0]):
                                found.append(f"{os.path.relpath(os.path.join(root, name), SOURCE)}:{number}")
        self.assertEqual(found, [], "a module the commands use does not reach back into lambdaeng.cli")


if __name__ == "__main__":
    unittest.main()
