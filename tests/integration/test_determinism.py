"""Canonical JSON and zip packages are byte-identical across separate processes
(each Lua state has its own string hash seed, so table order differs between
processes), and they match independent implementations: Python's json with
sorted keys, and Python's zipfile / `unzip -t`."""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import TempDirTest, main, run  # noqa: E402

STACK = r"""
local json = require "lambdaeng.json"
local archive = require "lambdaeng.archive"
local hash = require "lambdaeng.hash"
local t = { nested = { list = { 3, 2, 1, { z = true, a = json.null } } }, unicode = "h\u{e9}llo \"q\" \\ \n\t",
            big = 9007199254740991, neg = -17, float = 0.1, exp = 1.5e300, empty = json.array(), obj = {} }
for i = 1, 200 do t["key" .. i] = i * 3 end
local text = json.encode(t)
io.write("JSON ", text, "\n")
local order = {}
for k in pairs(t) do order[#order + 1] = k end
io.write("ORDER ", table.concat(order, ","), "\n")
local bytes, files = archive.zip("tree")
io.write("ZIP ", hash.sha256(bytes), " ", files, "\n")
io.write("CODEHASH ", archive.write("tree", "out.zip"), "\n")
-- (an empty JSON array decodes to an empty table, which encodes as {}: leave it out here)
t.empty = nil
local plain = json.encode(t)
io.write("ROUNDTRIP ", tostring(json.encode(json.decode(plain)) == plain), "\n")
"""


class Determinism(TempDirTest):
    def setUp(self):
        super().setUp()
        self.stack = self.write("stack.lua", STACK)
        self.write("tree/index.py", "def handler(e, c):\n    return e\n")
        self.write("tree/lib/b.txt", "b" * 5000)
        self.write("tree/lib/a.txt", "a")
        self.write("tree/Z.txt", "")
        os.chmod(os.path.join(self.dir, "tree/index.py"), 0o755)

    def outputs(self):
        r = run("validate", self.stack, cwd="/")
        self.assertEqual(r.returncode, 0, r.stderr)
        return dict(line.split(" ", 1) for line in r.stdout.splitlines() if " " in line and line.split(" ")[0].isupper())

    def test_identical_across_processes(self):
        runs = [self.outputs() for _ in range(6)]
        for key in ("JSON", "ZIP", "CODEHASH"):
            self.assertEqual(len({r[key] for r in runs}), 1, key)
        self.assertEqual(runs[0]["ROUNDTRIP"], "true")
        # Lua's own table order does vary between processes; the encoding does not.
        orders = {r["ORDER"] for r in runs}
        print(f"{len(orders)} distinct pairs() orders over {len(runs)} processes")

    def test_json_matches_independent_encoder(self):
        text = self.outputs()["JSON"]
        value = json.loads(text)
        expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        self.assertEqual(text, expected)
        self.assertEqual(value["big"], 9007199254740991)
        self.assertEqual(value["float"], 0.1)
        self.assertEqual(value["empty"], [])
        self.assertEqual(value["obj"], {})

    def test_zip_is_valid_and_normalised(self):
        out = self.outputs()
        path = os.path.join(self.dir, "out.zip")
        with open(path, "rb") as f:
            data = f.read()
        self.assertEqual(hashlib.sha256(data).hexdigest(), out["ZIP"].split()[0])
        import base64
        self.assertEqual(base64.b64encode(hashlib.sha256(data).digest()).decode(), out["CODEHASH"])
        with zipfile.ZipFile(path) as z:
            self.assertIsNone(z.testzip())
            names = [i.filename for i in z.infolist()]
            self.assertEqual(names, ["Z.txt", "index.py", "lib/a.txt", "lib/b.txt"])
            for info in z.infolist():
                self.assertEqual(info.date_time, (1980, 1, 1, 0, 0, 0))
                mode = (info.external_attr >> 16) & 0o777
                self.assertEqual(mode, 0o755 if info.filename == "index.py" else 0o644)
            self.assertEqual(z.read("lib/b.txt"), b"b" * 5000)
        unzip = shutil.which("unzip")
        self.assertIsNotNone(unzip, "unzip is installed by scripts/deps.sh")
        r = subprocess.run([unzip, "-t", path], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("No errors detected", r.stdout)

    def test_timestamps_do_not_change_the_package(self):
        before = self.outputs()["ZIP"]
        for root, _, files in os.walk(os.path.join(self.dir, "tree")):
            for f in files:
                os.utime(os.path.join(root, f), (1234567890, 1234567890))
        self.assertEqual(self.outputs()["ZIP"], before)
        self.write("tree/lib/a.txt", "A")
        self.assertNotEqual(self.outputs()["ZIP"], before)


if __name__ == "__main__":
    main()
