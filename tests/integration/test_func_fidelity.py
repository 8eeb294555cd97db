"""What the plan says is what the API gets (issue 11), against moto with signatures
(the recorded requests checked, the result read back with boto3) and against the
local target (read back with boto3): removals of every block reset the setting and
are read back (defect 1), publish attributes (3), computed attributes (4),
removing `architectures` keeps the architecture (5), import of a function made
elsewhere plans clean (7), an environment change is diffed in place and marks only
what its call can change (9). After every scenario the plan is clean.

moto 5.2.1 differs from AWS in ways these tests work around (and say where): its
answers never carry DeadLetterConfig, KMSKeyArn or FileSystemConfigs, its
UpdateFunctionConfiguration ignores TracingConfig, EphemeralStorage, SnapStart,
DeadLetterConfig, KMSKeyArn and FileSystemConfigs, it reports SnapStart as None
whatever was asked, and UpdateFunctionCode ignores Architectures. On AWS a setting
missing from GetFunction is unset, so lambdaeng reads it so; against moto the
re-plans of those settings are checked against the state (--no-refresh)."""
import io
import os
import sys
import time
import unittest
import zipfile

sys.path.insert(0, os.path.dirname(__file__))
from fidelity import FidelityCase  # noqa: E402
from harness import plan_action  # noqa: E402

DLQ = "arn:aws:sqs:us-east-1:123456789012:dlq"
FSAP = "arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0123456789abcdef0"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"

EVERY_BLOCK = """
local full = var("full", { default = "yes" }) == "yes"
local fn = lambda.func("f", {
  function_name = "%s", runtime = "python3.12", handler = "index.handler", role = role, source = "code",
  environment = { variables = { STAGE = "dev" } },
  vpc_config = full and { subnet_ids = { "subnet-b", "subnet-a" }, security_group_ids = { "sg-1" } } or nil,
  dead_letter_config = full and { target_arn = "%s" } or nil,
  tracing_config = full and { mode = "Active" } or nil,
  file_system_config = full and { arn = "%s", local_mount_path = "/mnt/efs" } or nil,
  ephemeral_storage = full and { size = 1024 } or nil,
  snap_start = full and { apply_on = "PublishedVersions" } or nil,
  kms_key_arn = full and "%s" or nil,
})
output("vpc_id", fn.vpc_config.vpc_id)
"""

RESETS = {"VpcConfig": {"SubnetIds": [], "SecurityGroupIds": [], "Ipv6AllowedForDualStack": False},
          "DeadLetterConfig": {"TargetArn": ""}, "TracingConfig": {"Mode": "PassThrough"},
          "FileSystemConfigs": [], "EphemeralStorage": {"Size": 512}, "SnapStart": {"ApplyOn": "None"},
          "KMSKeyArn": "",
          # the variables go with every KMS key change, unchanged (as the reference provider sends them)
          "Environment": {"Variables": {"STAGE": "dev"}}}


class Fidelity(FidelityCase):
    def refresh_args(self):
        """moto drops DeadLetterConfig, KMSKeyArn and FileSystemConfigs from its answers and ignores most of
        UpdateFunctionConfiguration: plans of those settings are checked against the state there."""
        return ("--no-refresh",) if self.moto else ()

    def test_defect1_removing_every_block_resets_it_and_drift_is_read_back(self):
        name = f"blocks-{self.target}"
        self.write_stack(EVERY_BLOCK % (name, DLQ, FSAP, KEY))
        self.apply()
        self.assert_clean(*self.refresh_args())
        cfg = self.config(name)
        self.assertEqual(sorted(cfg["VpcConfig"]["SubnetIds"]), ["subnet-a", "subnet-b"])
        if not self.moto:
            self.assertEqual(cfg["DeadLetterConfig"], {"TargetArn": DLQ})
            self.assertEqual(cfg["FileSystemConfigs"], [{"Arn": FSAP, "LocalMountPath": "/mnt/efs"}])
            self.assertEqual(cfg["SnapStart"]["ApplyOn"], "PublishedVersions")
            self.assertEqual(cfg["KMSKeyArn"], KEY)
            self.assertEqual(cfg["EphemeralStorage"], {"Size": 1024})
            self.assertEqual(cfg["TracingConfig"], {"Mode": "Active"})
        # drift made outside lambdaeng is read back and shown (moto: the VPC, which it keeps)
        self.boto.update_function_configuration(FunctionName=name, VpcConfig={"SubnetIds": ["subnet-z"],
                                                                              "SecurityGroupIds": ["sg-1"]})
        if not self.moto:
            self.boto.get_waiter("function_updated_v2").wait(FunctionName=name)
            self.boto.update_function_configuration(FunctionName=name, DeadLetterConfig={"TargetArn": ""},
                                                    FileSystemConfigs=[], SnapStart={"ApplyOn": "None"})
            self.boto.get_waiter("function_updated_v2").wait(FunctionName=name)
        r = self.le("plan", self.stack, "--detailed-exitcode", ok=False)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("func.f: changed outside lambdaeng (refreshed)", r.stdout)
        self.assertRegex(r.stdout, r'[~-] "subnet-z"')  # (removed, or changed in place: a list's element)
        if not self.moto:
            for block in ("dead_letter_config", "file_system_config", "snap_start"):
                self.assertIn("+ " + block, r.stdout)
        self.apply()
        self.assert_clean(*self.refresh_args())
        # remove every block: the plan shows the removals and the API gets an explicit reset for each
        r = self.le("plan", self.stack, "--var", "full=no", *self.refresh_args())
        for block in ("vpc_config", "dead_letter_config", "tracing_config", "file_system_config",
                      "ephemeral_storage", "snap_start", "kms_key_arn"):
            self.assertIn("- " + block, r.stdout)
        since = self.mark()
        self.apply("--var", "full=no", *self.refresh_args())
        if self.moto:
            self.assertEqual(self.mutating(since),
                             [("PUT", f"/2015-03-31/functions/{name}/configuration", RESETS)])
        cfg = self.config(name)
        self.assertEqual(cfg["VpcConfig"]["SubnetIds"], [])
        self.assertEqual(cfg["VpcConfig"]["SecurityGroupIds"], [])
        self.assertEqual(cfg["Environment"]["Variables"], {"STAGE": "dev"})
        if not self.moto:
            for gone in ("DeadLetterConfig", "FileSystemConfigs", "KMSKeyArn"):
                self.assertNotIn(gone, cfg)
            self.assertEqual(cfg["TracingConfig"], {"Mode": "PassThrough"})
            self.assertEqual(cfg["EphemeralStorage"], {"Size": 512})
            self.assertEqual(cfg["SnapStart"]["ApplyOn"], "None")
            self.assertEqual(cfg["VpcConfig"].get("VpcId", ""), "")
        # and the next plan shows nothing (it showed the same removals again before the fix)
        self.assert_clean("--var", "full=no", *self.refresh_args())
        self.assertEqual(self.le("output", self.stack, "vpc_id").stdout.strip(), "null")

    def test_defect3_publish_attributes(self):
        name = f"publish-{self.target}"
        self.write_stack(f"""
local stage = var("stage", {{ default = "one" }})
local fn = lambda.func("f", {{
  function_name = "{name}", runtime = "python3.12", handler = "index.handler", role = role, source = "code",
  publish = true, environment = {{ variables = {{ STAGE = stage }} }},
}})
lambda.invocation("pinned", {{ function_name = fn.function_name, qualifier = fn.version, input = json.encode({{ a = 1 }}) }})
output("version", fn.version)
output("qualified_arn", fn.qualified_arn)
output("qualified_invoke_arn", fn.qualified_invoke_arn)
""")
        since = self.mark()
        self.apply()
        if self.moto:  # one CreateFunction that publishes (no separate PublishVersion), then the invocation
            sent = self.mutating(since)
            self.assertEqual([(m, u) for m, u, _ in sent], [("POST", "/2015-03-31/functions")])
            self.assertIs(sent[0][2]["Publish"], True)
        arn = self.boto.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
        arn = ":".join(arn.split(":")[:7])
        versions = [v["Version"] for v in self.boto.list_versions_by_function(FunctionName=name)["Versions"]]
        self.assertIn("1", versions)
        attrs = self.state()["resources"]["func.f"]["attrs"]
        self.assertEqual(attrs["version"], "1")
        self.assertEqual(attrs["qualified_arn"], arn + ":1")
        self.assertTrue(attrs["qualified_invoke_arn"].endswith("/functions/" + arn + ":1/invocations"))
        self.assertEqual(self.state()["resources"]["invocation.pinned"]["args"]["qualifier"], "1")
        # a run with no edits: refresh keeps the published version, so the invocation stays
        self.assert_clean()
        r = self.le("plan", self.stack, "--var", "stage=two")
        self.assertRegex(r.stdout, r'~ version +\= "1" -> \(known after apply\)')
        since = self.mark()
        self.apply("--var", "stage=two")
        if self.moto:  # the configuration change, then PublishVersion (the reference provider's order)
            self.assertEqual([(m, u, b) for m, u, b in self.mutating(since) if "/invocations" not in u],
                             [("PUT", f"/2015-03-31/functions/{name}/configuration",
                               {"Environment": {"Variables": {"STAGE": "two"}}}),
                              ("POST", f"/2015-03-31/functions/{name}/versions", {})])
        attrs = self.state()["resources"]["func.f"]["attrs"]
        self.assertEqual(attrs["version"], "2")
        self.assertEqual(attrs["qualified_arn"], arn + ":2")
        self.assertEqual(self.le("output", self.stack, "qualified_arn").stdout.strip(), f"{arn}:2")
        self.assert_clean("--var", "stage=two")

    def test_defect3_publish_turned_on_reads_the_versions_published_outside(self):
        # Deployed without publish (the state holds $LATEST); two versions were published outside
        # lambdaeng, and the stack now turns publish on. Refresh reads the versions because the
        # declaration publishes (refresh.read_options), as the reference provider always does: the
        # plan starts from version 2, and the apply publishes version 3.
        name = f"publish-later-{self.target}"
        body = f"""
local on = var("publish", {{ default = "no" }}) == "yes"
local fn = lambda.func("f", {{
  function_name = "{name}", runtime = "python3.12", handler = "index.handler", role = role, source = "code",
  publish = on or nil, environment = {{ variables = {{ STAGE = var("stage", {{ default = "one" }}) }} }},
}})
output("version", fn.version)
"""
        self.write_stack(body)
        self.apply()
        self.assertEqual(self.state()["resources"]["func.f"]["attrs"]["version"], "$LATEST")
        arn = self.state()["resources"]["func.f"]["attrs"]["arn"]
        self.boto.publish_version(FunctionName=name)
        self.boto.update_function_configuration(FunctionName=name, Environment={"Variables": {"STAGE": "one",
                                                                                            "EXTRA": "1"}})
        self.boto.get_waiter("function_updated_v2").wait(FunctionName=name)
        self.boto.publish_version(FunctionName=name)
        self.boto.update_function_configuration(FunctionName=name, Environment={"Variables": {"STAGE": "one"}})
        self.boto.get_waiter("function_updated_v2").wait(FunctionName=name)
        self.assertEqual(sorted(v["Version"] for v in self.boto.list_versions_by_function(FunctionName=name)["Versions"]),
                         ["$LATEST", "1", "2"])
        self.assert_clean()  # publish off: the versions made outside are no difference
        r = self.le("plan", self.stack, "--var", "publish=yes")
        self.assertRegex(r.stdout, r'~ version +\= "2" -> \(known after apply\)')
        self.assertRegex(r.stdout, r'~ qualified_arn +\= "%s:2" -> \(known after apply\)' % arn)
        since = self.mark()
        self.apply("--var", "publish=yes")
        if self.moto:
            self.assertEqual([(m, u) for m, u, _ in self.mutating(since)],
                             [("POST", f"/2015-03-31/functions/{name}/versions")])
        attrs = self.state()["resources"]["func.f"]["attrs"]
        self.assertEqual(attrs["version"], "3")
        self.assertEqual(attrs["qualified_arn"], arn + ":3")
        self.assertIn("3", [v["Version"] for v in self.boto.list_versions_by_function(FunctionName=name)["Versions"]])
        self.assert_clean("--var", "publish=yes")

    def test_defect4_every_computed_attribute_has_its_value(self):
        name = f"attrs-{self.target}"
        self.write_stack(f"""
provider({{ default_tags = {{ owner = "platform" }} }})
local fn = lambda.func("f", {{
  function_name = "{name}", runtime = "python3.12", handler = "index.handler", role = role, source = "code",
  tags = {{ team = "a" }},
  vpc_config = {{ subnet_ids = {{ "subnet-1" }}, security_group_ids = {{ "sg-1" }} }},
  snap_start = {{ apply_on = "PublishedVersions" }},
}})
for _, k in ipairs {{ "arn", "invoke_arn", "qualified_arn", "qualified_invoke_arn", "version", "last_modified",
                     "source_code_size", "code_sha256", "state", "signing_job_arn",
                     "signing_profile_version_arn", "tags_all" }} do
  output(k, fn[k])
end
output("vpc_id", fn.vpc_config.vpc_id)
output("optimization_status", fn.snap_start.optimization_status)
""")
        r = self.le("plan", self.stack)
        self.assertIn('+ tags_all                       = {', r.stdout)  # known at plan time
        since = self.mark()
        self.apply()
        if self.moto:  # the default tags go with the stack's in CreateFunction
            create = self.mutating(since)[0]
            self.assertEqual(create[:2], ("POST", "/2015-03-31/functions"))
            self.assertEqual(create[2]["Tags"], {"owner": "platform", "team": "a"})
            self.assertEqual(create[2]["SnapStart"], {"ApplyOn": "PublishedVersions"})
        outputs = self.state()["outputs"]
        for k in ("arn", "invoke_arn", "qualified_arn", "qualified_invoke_arn", "version", "last_modified",
                  "source_code_size", "code_sha256", "state", "signing_job_arn", "signing_profile_version_arn",
                  "tags_all", "vpc_id"):
            self.assertIn(k, outputs, k)
            self.assertIsNotNone(outputs[k]["value"], k)
        self.assertEqual(outputs["tags_all"]["value"], {"owner": "platform", "team": "a"})
        self.assertEqual(self.boto.get_function(FunctionName=name)["Tags"], {"owner": "platform", "team": "a"})
        self.assertEqual(outputs["vpc_id"]["value"], self.config(name)["VpcConfig"]["VpcId"])
        self.assertTrue(outputs["vpc_id"]["value"].startswith("vpc-"))
        self.assertEqual(outputs["signing_job_arn"]["value"], "")
        if self.moto:
            # moto reports SnapStart as None whatever was asked: the block reads back as removed
            self.assertIsNone(outputs["optimization_status"].get("value"))
            self.assert_clean("--no-refresh")
        else:
            self.assertEqual(outputs["optimization_status"]["value"], "Off")
            self.assert_clean()

    def test_defect5_removing_architectures_keeps_the_architecture(self):
        name = f"arch-{self.target}"
        body = """
lambda.func("f", {
  function_name = "%s", runtime = "python3.12", handler = "index.handler", role = role, source = "code",
  %s
})
"""
        self.write_stack(body % (name, 'architectures = { "arm64" },'))
        self.apply()
        self.assertEqual(self.config(name)["Architectures"], ["arm64"])
        self.write_stack(body % (name, ""))
        self.assert_clean()
        since = self.mark()
        r = self.apply()
        self.assertIn("No changes.", r.stdout)
        self.assertEqual(self.mutating(since), [])
        self.assertEqual(self.config(name)["Architectures"], ["arm64"])
        self.assert_clean()

    def test_defect7_import_reads_back_everything(self):
        import io
        import zipfile
        name = f"imported-{self.target}"
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("index.py", "def handler(event, context):\n    return event\n")
        with open(os.path.join(self.dir, "f.zip"), "wb") as f:  # the stack deploys the same package
            f.write(buf.getvalue())
        extra = {} if self.moto else {"DeadLetterConfig": {"TargetArn": DLQ}}  # moto drops it
        self.boto.create_function(FunctionName=name, Runtime="python3.12", Role=self.server.role_arn,
                                  Handler="index.handler", Code={"ZipFile": buf.getvalue()},
                                  VpcConfig={"SubnetIds": ["subnet-2", "subnet-1"], "SecurityGroupIds": ["sg-9"]},
                                  TracingConfig={"Mode": "Active"}, Tags={"team": "a"}, **extra)
        self.boto.get_waiter("function_active_v2").wait(FunctionName=name)
        self.boto.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=5)
        dlq = "" if self.moto else f'dead_letter_config = {{ target_arn = "{DLQ}" }},'
        self.write_stack(f"""
lambda.func("f", {{
  function_name = "{name}", runtime = "python3.12", handler = "index.handler", role = role, filename = "f.zip",
  vpc_config = {{ subnet_ids = {{ "subnet-1", "subnet-2" }}, security_group_ids = {{ "sg-9" }} }},
  tracing_config = {{ mode = "Active" }}, tags = {{ team = "a" }}, reserved_concurrent_executions = 5,
  {dlq}
}})
""")
        since = self.mark()
        r = self.le("import", self.stack, "func.f", name)
        self.assertIn("Imported", r.stdout)
        r = self.assert_clean()
        self.assertEqual(self.mutating(since), [])  # import and plan only read
        for noise in ("dead_letter_config", "vpc_config", "ephemeral_storage", "tracing_config"):
            self.assertNotIn(noise, r.stdout)
        attrs = self.state()["resources"]["func.f"]["attrs"]
        self.assertEqual(attrs["version"], "$LATEST")
        self.assertTrue(attrs["vpc_config"]["vpc_id"].startswith("vpc-"))

    def test_defect9_nested_diffs_and_only_what_the_calls_change_is_unknown(self):
        name = f"env-{self.target}"
        self.write_stack(f"""
local level = var("level", {{ default = "" }})
local vars = {{ STAGE = "dev" }}
if level ~= "" then vars.LOG_LEVEL = level end
lambda.func("f", {{
  function_name = "{name}", runtime = "python3.12", handler = "index.handler", role = role, source = "code",
  environment = {{ variables = vars }}, tags = {{ team = var("team", {{ default = "a" }}) }},
}})
""")
        self.apply()
        r = self.le("plan", self.stack, "--var", "level=debug")
        body = r.stdout[r.stdout.index('~ func "f" {'):r.stdout.index("Plan:")]
        self.assertIn('~ environment {\n          ~ variables = {\n              + "LOG_LEVEL" = "debug"\n'
                      '                # (1 unchanged element hidden)\n            }\n        }', body)
        self.assertEqual(body.count("(known after apply)"), 1, body)  # last_modified alone
        self.assertIn("~ last_modified", body)
        for quiet in ("code_sha256", "version", "qualified_arn", "source_code_size", "- environment"):
            self.assertNotIn(quiet, body)
        plan = self.plan_json("--var", "level=debug")
        self.assertEqual(plan["resource_changes"][0]["change"]["after_unknown"], {"last_modified": True})
        since = self.mark()
        self.apply("--var", "level=debug")
        if self.moto:
            self.assertEqual(self.mutating(since), [("PUT", f"/2015-03-31/functions/{name}/configuration",
                                                     {"Environment": {"Variables": {"STAGE": "dev",
                                                                                    "LOG_LEVEL": "debug"}}})])
        self.assertEqual(self.config(name)["Environment"]["Variables"], {"STAGE": "dev", "LOG_LEVEL": "debug"})
        self.assert_clean("--var", "level=debug")
        # a tags change touches no configuration: nothing is unknown, only the tag calls are made
        r = self.le("plan", self.stack, "--var", "level=debug", "--var", "team=b")
        self.assertNotIn("(known after apply)", r.stdout)
        since = self.mark()
        self.apply("--var", "level=debug", "--var", "team=b")
        if self.moto:
            arn = self.state()["resources"]["func.f"]["attrs"]["arn"]
            self.assertEqual([(m, b) for m, _, b in self.mutating(since)], [("POST", {"Tags": {"team": "b"}})])
            self.assertIn(arn.replace(":", "%3A"), self.mutating(since)[0][1])
        self.assertEqual(self.boto.get_function(FunctionName=name)["Tags"], {"team": "b"})
        self.assert_clean("--var", "level=debug", "--var", "team=b")

    def test_refresh_stores_attributes_changed_outside_and_leaves_the_rest(self):
        """A refresh that reads the arguments back as they were still stores the attributes that
        changed (LastModified, after a configuration update made elsewhere that set the same
        timeout); an entry it reads back as it was stays as it was."""
        name = f"readback-{self.target}"
        self.write_stack("".join(f"""
lambda.func("{key}", {{ function_name = "{name}-{key}", runtime = "python3.12", handler = "index.handler",
                      role = role, source = "code", timeout = 3 }})""" for key in ("f", "g")))
        self.apply()
        before = self.state()["resources"]
        time.sleep(1.1)  # a LastModified of another second, whatever its precision
        self.boto.update_function_configuration(FunctionName=name + "-f", Timeout=3)
        if not self.moto:
            self.boto.get_waiter("function_updated_v2").wait(FunctionName=name + "-f")
        changed = self.config(name + "-f")["LastModified"]
        if not self.moto:  # (moto keeps LastModified as it was)
            self.assertNotEqual(changed, before["func.f"]["attrs"]["last_modified"])
        r = self.apply()  # run: the refresh is saved
        self.assertNotIn("changed outside lambdaeng", r.stdout)
        after = self.state()["resources"]
        self.assertEqual(after["func.f"]["attrs"]["last_modified"], changed)
        self.assertEqual(after["func.f"]["args"], before["func.f"]["args"])
        self.assertEqual(after["func.g"], before["func.g"])
        self.assert_clean()

    def test_plan_after_a_refresh_sees_each_entry_as_refresh_left_it(self):
        """The plan takes the entries a refresh read back unchanged instead of reading them
        again (W3): what it shows as before is then exactly the stored entry, as without the
        refresh; an entry the refresh changed or removed is planned from what it left (code
        changed outside is drift too)."""
        name = f"reuse-{self.target}"
        self.write_stack("".join(f"""
lambda.func("{key}", {{ function_name = "{name}-{key}", runtime = "python3.12", handler = "index.handler",
  role = role, source = "code", timeout = 3, tags = {{ team = "a" }},
  environment = {{ variables = {{ STAGE = "dev", NUM = "1" }} }} }})""" for key in ("f", "g", "h", "c")))
        self.apply()
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as z:
            z.writestr("index.py", "def handler(event, context):\n    return 'changed'\n")
        self.boto.update_function_code(FunctionName=name + "-c", ZipFile=code.getvalue())
        if not self.moto:
            self.boto.get_waiter("function_updated_v2").wait(FunctionName=name + "-c")
        self.boto.update_function_configuration(FunctionName=name + "-g", MemorySize=256)
        if not self.moto:
            self.boto.get_waiter("function_updated_v2").wait(FunctionName=name + "-g")
        self.boto.delete_function(FunctionName=name + "-h")

        def changes(*args):
            plan = self.plan_json(*args)
            return {c["address"]: (plan_action(c), c["change"]["before"]) for c in plan["resource_changes"]}
        stored, refreshed = changes("--no-refresh"), changes()
        self.assertEqual({a: c[0] for a, c in stored.items()}, {"func.f": "no-op", "func.g": "no-op",
                                                                  "func.h": "no-op", "func.c": "no-op"})
        self.assertEqual(refreshed["func.f"], stored["func.f"])
        self.assertEqual(refreshed["func.g"][0], "update")
        self.assertEqual(refreshed["func.g"][1]["memory_size"], 256)
        self.assertEqual(refreshed["func.h"], ("create", None))
        self.assertEqual(refreshed["func.c"][0], "update")
        self.assertIn("(changed outside lambdaeng: CodeSha256", refreshed["func.c"][1]["source_code_hash"])
        text = self.le("plan", self.stack).stdout
        self.assertEqual(sorted(line for line in text.splitlines() if line.endswith("changed outside lambdaeng (refreshed)")),
                         [f"func.{k}: changed outside lambdaeng (refreshed)" for k in "cgh"])

    def plan_json(self, *args):
        import json
        r = self.le("plan", self.stack, "--json", *args)
        return json.loads(r.stdout)


class AgainstMoto(Fidelity):
    target = "moto"


class AgainstLocalTarget(Fidelity):
    target = "local"


del Fidelity, FidelityCase

if __name__ == "__main__":
    unittest.main(verbosity=2)
