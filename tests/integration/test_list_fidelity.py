"""Empty lists and empty maps say what they are, everywhere (lane s6, from the closing note of
2026-11-27's afternoon session). Lua cannot tell [] from {}: the schema can (an argument it
says is a list), json.array can (a value so marked), and an empty table it cannot say
anything of is an object, as json.encode writes it.

- a handle's declared list argument reads back as an array: json.encode(f.layers) of a
  declared {} was "{}" where the API and state say []; state stored a list's {} as {}.
- a schema-less output {} printed `+ m = []` in the text plan (plan JSON and `output --json`
  said {}).
- a json.array holding a sensitive reference was marked sensitive whole (plan JSON, state):
  only the element is, as for a plain table; a create's text shows the other elements.
- an update's text showed such an argument whole `(sensitive) -> (sensitive)`: it shows the
  parts that change, a secret `~ K = (sensitive)` (Terraform's one marker) and only when it
  changed (lanes s8, t7).
- when clear parts and secrets of one argument changed together and it held more than one
  secret, every secret showed as changed (state kept one digest per argument): state keeps a
  keyed digest of each secret part too, salted with its path, and the text marks exactly the
  secrets that changed; an entry written before those digests plans as before (lane t7).
- text `state show` printed a block twice, its arguments and then its computed fields
  (`vpc_config = {"vpc_id": ...}`): once, merged, as `--json` and Terraform have it (lane s8).
- a state written before lists were stored [] (the afternoon's binary, 1888302, wrote
  `"layers": {}`, `"security_group_ids": {}`, `"dependencies": {}`) plans no change, and the
  entry's next write says []."""
import hashlib
import hmac
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import TempDirTest, echo_stack, main, run  # noqa: E402

ROLE = "arn:aws:iam::123456789012:role/r"
FUNC = ('lambda.func("echo", { function_name = "echo", runtime = "python3.12", handler = "index.handler",\n'
        '  source = "code", role = "' + ROLE + '", memory_size = var("mem", { type = "number", default = 128 }),\n'
        '  layers = {}, vpc_config = { subnet_ids = { "subnet-1" }, security_group_ids = %s } })\n')
LISTS = """local json = require "lambdaeng.json"
local f = """ + FUNC % "{}" + """output("layers", json.encode(f.layers))
output("vpc", json.encode(f.vpc_config))
"""
OUTPUTS = """local json = require "lambdaeng.json"
output("m", {})
output("a", json.array {})
output("n", { x = {}, y = json.array {} })
"""
SECRET = """local json = require "lambdaeng.json"
local s = var("s", { sensitive = true, default = "sg-0secret" })
""" + FUNC % 'json.array { "sg-0plain", s }'

UPDATE = """local json = require "lambdaeng.json"
local s = var("s", { sensitive = true, default = "sg-0secret" })
local k = var("k", { sensitive = true, default = "key-secret-1" })
local p, e = var("p", { default = "sg-0plain" }), var("e", { default = "dev" })
lambda.func("echo", { function_name = "echo", runtime = "python3.12", handler = "index.handler",
  source = "code", role = "ROLE", environment = { variables = { API_KEY = k, ENVIRONMENT = e } },
  vpc_config = { subnet_ids = { "subnet-1" }, security_group_ids = json.array { p, s } } })
""".replace('"ROLE"', '"' + ROLE + '"')
TWO_SECRETS = """local k1 = var("k1", { sensitive = true, default = "key-one-secret-1" })
local k2 = var("k2", { sensitive = true, default = "key-two-secret-1" })
local e = var("e", { default = "dev" })
local k3 = var("k3", { sensitive = true, default = "key-three-secret" })
local with_k3 = var("with_k3", { default = "no" }) == "yes"
lambda.func("echo", { function_name = "echo", runtime = "python3.12", handler = "index.handler",
  source = "code", role = "ROLE", environment = { variables = { K1 = k1, K2 = k2, ENV = e, K3 = with_k3 and k3 or nil } } })
""".replace('"ROLE"', '"' + ROLE + '"')


class ListFidelity(TempDirTest):
    def le(self, *args, code=0):
        r = run(*args, cwd=self.dir, timeout=120)
        self.assertEqual(r.returncode, code, " ".join(args) + ": " + r.stdout[-2000:] + r.stderr[-2000:])
        return r.stdout

    def state(self):
        with open(os.path.join(self.dir, ".lambdaeng", "stack.state.json")) as f:
            return json.load(f)

    def test_a_declared_empty_list_reads_back_as_an_array(self):
        stack = echo_stack(self.dir, LISTS)
        plan = json.loads(self.le("plan", stack, "--json"))
        self.assertEqual(plan["output_changes"]["layers"]["after"], "[]")
        self.assertEqual(json.loads(plan["output_changes"]["vpc"]["after"])["security_group_ids"], [])
        self.le("run", stack, "--yes")
        args = self.state()["resources"]["func.echo"]["args"]
        self.assertEqual((args["layers"], args["vpc_config"]["security_group_ids"]), ([], []))
        self.assertEqual(self.le("output", stack, "layers"), "[]\n")

    def test_an_empty_table_without_a_schema_is_shown_as_json_says_it(self):
        stack = echo_stack(self.dir, OUTPUTS)
        text = self.le("plan", stack)
        self.assertIn("\n".join(["  + a = []", "  + m = {}", "  + n = {", "      + x = {}", "      + y = []", "    }"]),
                      text)
        shapes = {"m": {}, "a": [], "n": {"x": {}, "y": []}}
        plan = json.loads(self.le("plan", stack, "--json"))
        self.assertEqual({k: c["after"] for k, c in plan["output_changes"].items()}, shapes)
        self.le("run", stack, "--yes")
        self.assertEqual({k: o["value"] for k, o in json.loads(self.le("output", stack, "--json")).items()}, shapes)

    def test_a_sensitive_element_of_a_json_array_is_marked_alone(self):
        stack = echo_stack(self.dir, SECRET)
        plan = json.loads(self.le("plan", stack, "--json"))
        change = plan["resource_changes"][0]["change"]
        self.assertEqual(change["after"]["vpc_config"]["security_group_ids"], ["sg-0plain", None])
        self.assertEqual(change["after_sensitive"]["vpc_config"], {"security_group_ids": [False, True]})
        text = self.le("plan", stack)
        self.assertNotIn("sg-0secret", text)
        self.assertRegex(text, r'\+ security_group_ids += \[\n +\+ "sg-0plain",\n +\+ \(sensitive\),\n +\]')
        self.le("run", stack, "--yes")
        with open(os.path.join(self.dir, ".lambdaeng", "stack.state.json")) as f:
            self.assertNotIn("sg-0secret", f.read())
        entry = self.state()["resources"]["func.echo"]
        self.assertEqual(entry["sensitive_paths"], {"vpc_config": {"security_group_ids": [False, True]}})
        self.assertEqual(entry["args_known"]["vpc_config"]["value"]["security_group_ids"], ["sg-0plain", None])
        shown = json.loads(self.le("state", "show", "func.echo", "--json"))
        self.assertEqual(shown["sensitive_values"]["vpc_config"], {"security_group_ids": [False, True]})
        # the text, as --json: the block once, its arguments and its computed vpc_id merged (it was
        # printed twice, the arguments then {"vpc_id": ...}), every key once, in order
        text = self.le("state", "show", "func.echo")
        self.assertNotIn("sg-0secret", text)
        blocks = [line for line in text.splitlines() if line.startswith("  vpc_config = ")]
        self.assertEqual(len(blocks), 1, text)
        self.assertRegex(blocks[0], r'"security_group_ids":\["sg-0plain",\(sensitive value\)\].*"vpc_id":"vpc-')
        keys = [line.split(" = ")[0].strip() for line in text.splitlines()[1:]]
        self.assertEqual(keys, sorted(set(keys)))
        self.assertEqual(set(keys), set(shown["values"]))

    def test_an_update_shows_a_partly_sensitive_argument_part_by_part(self):
        stack = echo_stack(self.dir, UPDATE)
        self.le("run", stack, "--yes")
        # a map's keys quoted and aligned with all its keys, as Terraform's
        env_line = "              ~ {} = {}\n                # (1 unchanged element hidden)"
        plain_env = env_line.format('"ENVIRONMENT"', '"dev" -> "prod"')
        secret_env = env_line.format('"API_KEY"    ', "(sensitive)")  # a changed secret, as Terraform's
        # a set's element gone and one come, the other counted, as Terraform 1.11's set renderer
        # shows them (security_group_ids is a set in the provider; SPEC's word for the secret)
        plain_sg = r'- "sg-0plain",\n +\+ "sg-0other",\n +# \(1 unchanged element hidden\)\n +\]'
        secret_sg = r'- \(sensitive\),\n +\+ \(sensitive\),\n +# \(1 unchanged element hidden\)\n +\]'
        secrets = ("sg-0secret", "sg-1secret", "key-secret-1", "key-secret-2")
        cases = [(("--var", "p=sg-0other", "--var", "e=prod"), True, False),  # the clear parts alone
                 (("--var", "s=sg-1secret", "--var", "k=key-secret-2"), False, True),  # the secrets alone
                 (("--var", "s=sg-1secret", "--var", "e=prod"), None, None)]  # one of each
        for args, plain, secret in cases:
            with self.subTest(args=args):
                text = self.le("plan", stack, *args)
                for word in secrets:
                    self.assertNotIn(word, text)
                    self.assertNotIn(word, self.le("plan", stack, "--json", *args))
                self.assertNotIn("~ environment   = (sensitive)\n", text)  # not whole
                if plain is None:  # the environment's clear part, the list's secret
                    self.assertIn(plain_env, text)
                    self.assertNotIn("API_KEY", text)
                    self.assertRegex(text, secret_sg)
                    continue
                (self.assertIn if plain else self.assertNotIn)(plain_env, text)
                (self.assertIn if secret else self.assertNotIn)(secret_env, text)
                (self.assertRegex if plain else self.assertNotRegex)(text, plain_sg)
                (self.assertRegex if secret else self.assertNotRegex)(text, secret_sg)
        self.le("run", stack, "--yes", "--var", "s=sg-1secret", "--var", "e=prod")
        with open(os.path.join(self.dir, ".lambdaeng", "stack.state.json")) as f:
            stored = f.read()
        for word in secrets:
            self.assertNotIn(word, stored)

    def test_only_the_secret_parts_that_changed_show_as_changed(self):
        stack = echo_stack(self.dir, TWO_SECRETS)
        self.le("run", stack, "--yes")
        path = os.path.join(self.dir, ".lambdaeng", "stack.state.json")
        with open(path, "rb") as f:
            stored = f.read()
        with open(path + ".key", "rb") as f:
            key = f.read().strip()
        parts = self.state()["resources"]["func.echo"]["args_known"]["environment"]["parts"]["variables"]
        self.assertEqual(sorted(parts), ["K1", "K2"])
        self.assertNotEqual(parts["K1"], parts["K2"])
        for secret in (b"key-one-secret-1", b"key-two-secret-1"):
            self.assertNotIn(secret, stored)
            for plain in (hashlib.sha256(secret).hexdigest(), hmac.new(key, secret, "sha256").hexdigest()):
                self.assertNotIn(plain.encode(), stored)  # never a plain or unsalted digest of a secret
        changed = r'~ "K1" += \(sensitive\)\n'
        both = ("--var", "k1=key-one-secret-2", "--var", "e=prod")
        text = self.le("plan", stack, *both)
        self.assertIn('~ "ENV" = "dev" -> "prod"\n', text)
        self.assertRegex(text, changed)
        self.assertNotIn("K2", text)
        self.assertIn("# (1 unchanged element hidden)", text)
        self.assertNotIn("key-one-secret-2", text)
        # an entry written before the part digests: each secret shows changed, as before
        old = self.state()
        del old["resources"]["func.echo"]["args_known"]["environment"]["parts"]
        with open(path, "w") as f:
            json.dump(old, f, indent=2)
        text = self.le("plan", stack, *both)
        self.assertRegex(text, changed)
        self.assertRegex(text, changed.replace("K1", "K2"))
        self.le("plan", stack, "--detailed-exitcode")  # and no change without one
        self.le("run", stack, "--yes", *both)  # the next apply writes the part digests again
        text = self.le("plan", stack, "--var", "k1=key-one-secret-2", "--var", "k2=key-two-secret-2")
        self.assertRegex(text, changed.replace("K1", "K2"))
        self.assertNotIn("K1", text)
        # a secret added, then removed: "+ K3 = (sensitive)", "- K3 = (sensitive)", as Terraform's
        k3 = both + ("--var", "with_k3=yes")
        text = self.le("plan", stack, *k3)
        self.assertRegex(text, r'\+ "K3" += \(sensitive\)\n +# \(3 unchanged elements hidden\)')
        self.le("run", stack, "--yes", *k3)
        text = self.le("plan", stack, *both)
        self.assertRegex(text, r'- "K3" += \(sensitive\)\n +# \(3 unchanged elements hidden\)')
        with open(path, "rb") as f:
            self.assertNotIn(b"key-three-secret", f.read())
        # a destroy: part by part, each argument "-> null", a block's each attribute, as Terraform's
        text = self.le("plan", stack, "--destroy")
        self.assertRegex(text, r'\n\n +- environment \{\n +- variables = \{\n +- "ENV" = "prod"\n +- "K1"  = \(sensitive\)\n'
                               r' +- "K2"  = \(sensitive\)\n +- "K3"  = \(sensitive\)\n +\} -> null\n +\}\n')
        self.assertRegex(text, r'- function_name +?= "echo" -> null\n')

    def test_a_state_written_before_plans_no_change_and_is_next_written_with_arrays(self):
        stack = echo_stack(self.dir, LISTS)
        self.le("run", stack, "--yes")
        path = os.path.join(self.dir, ".lambdaeng", "stack.state.json")
        old = self.state()  # as 1888302 wrote it: {} for the empty lists
        entry = old["resources"]["func.echo"]
        entry["args"]["layers"], entry["args"]["vpc_config"]["security_group_ids"], entry["dependencies"] = {}, {}, {}
        with open(path, "w") as f:
            json.dump(old, f, indent=2)
        self.le("plan", stack, "--detailed-exitcode")
        plan = json.loads(self.le("plan", stack, "--json"))
        self.assertEqual([c["change"]["actions"] for c in plan["resource_changes"]], [["no-op"]])
        change = plan["resource_changes"][0]["change"]
        self.assertEqual(change["before"]["layers"], [])
        # a no-op's vpc_config, arguments and computed vpc_id, is one value before and after (before
        # held vpc_id alone, after the arguments alone)
        self.assertEqual(change["before"]["vpc_config"], change["after"]["vpc_config"])
        self.assertEqual(sorted(change["after"]["vpc_config"]),
                         ["ipv6_allowed_for_dual_stack", "security_group_ids", "subnet_ids", "vpc_id"])
        # state show, text and JSON, of the entry as stored: the schema's lists (the text said {})
        self.assertIn("\n  layers = []\n", self.le("state", "show", "func.echo", stack))
        self.assertEqual(json.loads(self.le("state", "show", "func.echo", stack, "--json"))["values"]["layers"], [])
        self.le("run", stack, "--yes", "--var", "mem=256")  # an update writes the entry again
        entry = self.state()["resources"]["func.echo"]
        self.assertEqual((entry["args"]["layers"], entry["args"]["vpc_config"]["security_group_ids"],
                          entry["dependencies"]), ([], [], []))
        self.le("plan", stack, "--detailed-exitcode", "--var", "mem=256")


if __name__ == "__main__":
    main()
