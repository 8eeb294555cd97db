"""The local target as a drop-in Lambda endpoint for the SDKs and Terraform (issue 13):
every response body of the operations the Terraform provider and the waiters call is
checked against the Lambda API model (botocore's service-2.json: types, members,
enums; read raw, so that no client's tolerance hides a wrong shape); the boto3 and aws
CLI waiters; RevisionId and CodeSha256 preconditions; ListVersionsByFunction paging;
the code signing configuration; the invoke headers the provider reads."""
import base64
import gzip
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import run  # noqa: E402
from test_local_security import DUMMY, ROLE, Served, small_zip  # noqa: E402


def load_model():
    import botocore
    path = os.path.join(os.path.dirname(botocore.__file__), "data", "lambda", "2015-03-31", "service-2.json.gz")
    with gzip.open(path) as f:
        return json.load(f)


MODEL = load_model()


def shape_errors(shape_name, value, path="$"):
    """What in value does not fit the model's shape (a list of messages)."""
    shape = MODEL["shapes"][shape_name]
    kind = shape["type"]
    errors = []
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: a {type(value).__name__}, the model says structure {shape_name}"]
        for name, v in value.items():
            member = shape["members"].get(name)
            if member is None:
                errors.append(f"{path}.{name}: not a member of {shape_name}")
            elif v is not None:
                errors += shape_errors(member["shape"], v, f"{path}.{name}")
    elif kind == "list":
        if not isinstance(value, list):
            return [f"{path}: a {type(value).__name__}, the model says list {shape_name}"]
        for i, v in enumerate(value):
            errors += shape_errors(shape["member"]["shape"], v, f"{path}[{i}]")
    elif kind == "map":
        if not isinstance(value, dict):
            return [f"{path}: a {type(value).__name__}, the model says map {shape_name}"]
        for k, v in value.items():
            errors += shape_errors(shape["value"]["shape"], v, f"{path}.{k}")
    elif kind in ("string", "blob"):
        if not isinstance(value, str):
            errors.append(f"{path}: {value!r} is not a string")
        elif "enum" in shape and value not in shape["enum"]:
            errors.append(f"{path}: {value!r} is not one of {shape_name}'s values")
    elif kind in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            errors.append(f"{path}: {value!r} is not an integer")
    elif kind in ("double", "float"):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            errors.append(f"{path}: {value!r} is not a number")
    elif kind == "boolean":
        if not isinstance(value, bool):
            errors.append(f"{path}: {value!r} is not a boolean")
    elif kind == "timestamp":
        if not isinstance(value, (str, int, float)):
            errors.append(f"{path}: {value!r} is not a timestamp")
    return errors


class Api(Served):
    def call(self, operation, path, method="GET", body=None, expect=200):
        """A signed request; its body checked against the operation's output shape."""
        data = json.dumps(body).encode() if body is not None else b""
        status, headers, doc = self.signed(method, path, data, {"Content-Type": "application/json"} if data else {})
        self.assertEqual(status, expect, (operation, doc))
        output = MODEL["operations"][operation].get("output")
        if output and doc is not None:
            self.assertEqual(shape_errors(output["shape"], doc), [], operation)
        return doc, headers

    def create(self, name, **extra):
        body = {"FunctionName": name, "Runtime": "python3.12", "Handler": "index.handler", "Role": ROLE,
                "Code": {"ZipFile": base64.b64encode(small_zip()).decode()}}
        body.update(extra)
        doc, _ = self.call("CreateFunction", "/2015-03-31/functions", "POST", body, 201)
        self.boto().get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 6000})
        return doc

    def test_responses_have_the_models_shapes(self):
        layer, _ = self.call("PublishLayerVersion", "/2018-10-31/layers/l/versions", "POST",
                             {"Content": {"ZipFile": base64.b64encode(small_zip()).decode()},
                              "CompatibleRuntimes": ["python3.12"], "CompatibleArchitectures": ["x86_64"]}, 201)
        self.create("shapes", Environment={"Variables": {"A1": "x"}}, Tags={"t": "v"}, Timeout=9,
                    Layers=[layer["LayerVersionArn"]])
        self.call("GetLayerVersion", "/2018-10-31/layers/l/versions/1")
        self.call("GetLayerVersionByArn", "/2018-10-31/layers?find=LayerVersion&Arn=" + layer["LayerVersionArn"])
        self.call("ListLayerVersions", "/2018-10-31/layers/l/versions")
        self.call("ListLayers", "/2018-10-31/layers")
        base = "/2015-03-31/functions/shapes"
        self.call("GetFunction", base)
        self.call("GetFunctionConfiguration", base + "/configuration")
        self.call("UpdateFunctionConfiguration", base + "/configuration", "PUT", {"MemorySize": 256})
        self.boto().get_waiter("function_updated_v2").wait(FunctionName="shapes", WaiterConfig={"Delay": 0.05, "MaxAttempts": 6000})
        # Lists emptied by an update stay JSON arrays on the wire ("SubnetIds": {} once came
        # back; botocore would hide it by reading {} as [], so the raw body is checked).
        vpc = {"SubnetIds": ["subnet-0123456789abcdef0"], "SecurityGroupIds": ["sg-0123456789abcdef0"]}
        self.call("UpdateFunctionConfiguration", base + "/configuration", "PUT",
                  {"VpcConfig": vpc, "FileSystemConfigs": [
                      {"Arn": "arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0123456789abcdef0",
                       "LocalMountPath": "/mnt/efs"}]})
        self.boto().get_waiter("function_updated_v2").wait(FunctionName="shapes", WaiterConfig={"Delay": 0.05, "MaxAttempts": 6000})
        doc, _ = self.call("UpdateFunctionConfiguration", base + "/configuration", "PUT",
                           {"VpcConfig": {"SubnetIds": [], "SecurityGroupIds": []}, "FileSystemConfigs": [],
                            "Layers": []})
        self.boto().get_waiter("function_updated_v2").wait(FunctionName="shapes", WaiterConfig={"Delay": 0.05, "MaxAttempts": 6000})
        for answer in (doc, self.call("GetFunctionConfiguration", base + "/configuration")[0]):
            for key in ("SubnetIds", "SecurityGroupIds"):
                self.assertEqual(answer.get("VpcConfig", {}).get(key, []), [], answer)
                self.assertIsInstance(answer.get("VpcConfig", {}).get(key, []), list, answer)
            self.assertIsInstance(answer.get("FileSystemConfigs", []), list, answer)
            self.assertEqual(answer.get("FileSystemConfigs", []), [], answer)
            self.assertIsInstance(answer.get("Layers", []), list, answer)
        self.call("UpdateFunctionCode", base + "/code", "PUT", {"ZipFile": base64.b64encode(small_zip()).decode()})
        self.boto().get_waiter("function_updated").wait(FunctionName="shapes", WaiterConfig={"Delay": 0.05, "MaxAttempts": 6000})
        self.call("PublishVersion", base + "/versions", "POST", {}, 201)
        self.call("GetFunction", base + "?Qualifier=1")
        self.call("ListVersionsByFunction", base + "/versions")
        self.call("ListFunctions", "/2015-03-31/functions/")
        self.call("PutFunctionConcurrency", "/2017-10-31/functions/shapes/concurrency", "PUT",
                  {"ReservedConcurrentExecutions": 2})
        self.call("GetFunctionConcurrency", "/2019-09-30/functions/shapes/concurrency")
        self.call("ListTags", "/2017-03-31/tags/arn:aws:lambda:us-east-1:000000000000:function:shapes")
        doc, _ = self.call("GetFunctionCodeSigningConfig", "/2020-06-30/functions/shapes/code-signing-config")
        self.assertEqual(doc, {"CodeSigningConfigArn": "", "FunctionName": "shapes"})
        self.call("DeleteFunctionConcurrency", "/2017-10-31/functions/shapes/concurrency", "DELETE", None, 204)
        doc, _ = self.call("GetFunctionConcurrency", "/2019-09-30/functions/shapes/concurrency")
        self.assertEqual(doc, {})
        # issue 17: aliases, the policy, function URLs
        self.call("CreateAlias", base + "/aliases", "POST", {"Name": "live", "FunctionVersion": "1"}, 201)
        self.call("UpdateAlias", base + "/aliases/live", "PUT", {"Description": "d"})
        self.call("GetAlias", base + "/aliases/live")
        self.call("ListAliases", base + "/aliases")
        self.call("AddPermission", base + "/policy", "POST", {"StatementId": "s", "Action": "lambda:InvokeFunction",
                                                             "Principal": "s3.amazonaws.com"}, 201)
        self.call("GetPolicy", base + "/policy")
        url = "/2021-10-31/functions/shapes/url"
        self.call("CreateFunctionUrlConfig", url, "POST", {"AuthType": "NONE", "Cors": {"MaxAge": 5}}, 201)
        self.call("UpdateFunctionUrlConfig", url, "PUT", {"AuthType": "AWS_IAM"})
        self.call("GetFunctionUrlConfig", url)
        self.call("DeleteFunctionUrlConfig", url, "DELETE", None, 204)
        self.call("RemovePermission", base + "/policy/s", "DELETE", None, 204)
        self.call("DeleteAlias", base + "/aliases/live", "DELETE", None, 204)
        self.call("DeleteLayerVersion", "/2018-10-31/layers/l/versions/1", "DELETE", None, 204)

    def test_invoke_headers_the_provider_reads(self):
        self.create("hdrs")
        c = self.boto()
        r = c.invoke(FunctionName="hdrs", Payload=b"{}", LogType="Tail")
        self.assertEqual(r["ExecutedVersion"], "$LATEST")
        self.assertIn("START RequestId:", base64.b64decode(r["LogResult"]).decode())
        self.assertNotIn("FunctionError", r)
        c.publish_version(FunctionName="hdrs")
        r = c.invoke(FunctionName="hdrs", Qualifier="1", Payload=b"{}")
        self.assertEqual(r["ExecutedVersion"], "1")
        self.assertNotIn("LogResult", r)  # only with Tail
        with self.assertRaises(c.exceptions.InvalidRequestContentException):
            c.invoke(FunctionName="hdrs", Payload=b"not json")
        import io
        import zipfile
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("index.py", "def handler(event, context):\n    raise ValueError('asked to fail')\n")
        c.create_function(FunctionName="fails", Runtime="python3.12", Handler="index.handler", Role=ROLE,
                          Code={"ZipFile": buf.getvalue()})
        c.get_waiter("function_active_v2").wait(FunctionName="fails", WaiterConfig={"Delay": 0.05, "MaxAttempts": 6000})
        r = c.invoke(FunctionName="fails", Payload=b"{}")
        self.assertEqual(r["FunctionError"], "Unhandled")
        self.assertEqual(json.loads(r["Payload"].read())["errorMessage"], "asked to fail")

    def test_api_batch_options_stay_with_their_item(self):
        # Each item's LogType and Qualifier go with that item alone (cli/api.lua fills one
        # options table before each call): the next item without them has no log, $LATEST.
        self.create("opts")
        self.boto().publish_version(FunctionName="opts")
        items = [{"FunctionName": "opts", "LogType": "Tail"}, {"FunctionName": "opts"},
                 {"FunctionName": "opts", "Qualifier": "1"}, {"FunctionName": "opts"}]
        r = run("api", "Invoke", json.dumps(items), "--parallelism", "1", "--endpoint", self.endpoint, env=DUMMY)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertIn("START RequestId:", base64.b64decode(out[0]["log_result"]).decode())
        self.assertEqual([("log_result" in o, o["executed_version"]) for o in out],
                         [(True, "$LATEST"), (False, "$LATEST"), (False, "1"), (False, "$LATEST")])

    def test_revision_id_and_code_sha256_preconditions(self):
        c = self.boto()
        created = self.create("rev")
        current = c.get_function_configuration(FunctionName="rev")["RevisionId"]
        self.assertEqual(current, created["RevisionId"])
        with self.assertRaises(c.exceptions.PreconditionFailedException):
            c.update_function_configuration(FunctionName="rev", Timeout=5, RevisionId="not-the-revision")
        with self.assertRaises(c.exceptions.PreconditionFailedException):
            c.update_function_code(FunctionName="rev", ZipFile=small_zip(), RevisionId="not-the-revision")
        with self.assertRaises(c.exceptions.PreconditionFailedException):
            c.publish_version(FunctionName="rev", RevisionId="not-the-revision")
        with self.assertRaises(c.exceptions.InvalidParameterValueException):
            c.publish_version(FunctionName="rev", CodeSha256="bm90IHRoZSBoYXNo")
        self.assertEqual(c.get_function_configuration(FunctionName="rev")["Timeout"], 3)  # nothing applied
        updated = c.update_function_configuration(FunctionName="rev", Timeout=5, RevisionId=current)
        self.assertNotEqual(updated["RevisionId"], current)
        c.get_waiter("function_updated").wait(FunctionName="rev", WaiterConfig={"Delay": 0.05, "MaxAttempts": 6000})
        sha = c.get_function_configuration(FunctionName="rev")["CodeSha256"]
        self.assertEqual(c.publish_version(FunctionName="rev", CodeSha256=sha)["Version"], "1")

    def test_list_versions_pages(self):
        c = self.boto()
        self.create("paged")
        for _ in range(5):
            c.publish_version(FunctionName="paged")
        first = c.list_versions_by_function(FunctionName="paged", MaxItems=2)
        self.assertEqual([v["Version"] for v in first["Versions"]], ["$LATEST", "1"])
        second = c.list_versions_by_function(FunctionName="paged", MaxItems=2, Marker=first["NextMarker"])
        self.assertEqual([v["Version"] for v in second["Versions"]], ["2", "3"])
        pages = c.get_paginator("list_versions_by_function").paginate(FunctionName="paged",
                                                                      PaginationConfig={"PageSize": 4})
        self.assertEqual([v["Version"] for p in pages for v in p["Versions"]], ["$LATEST", "1", "2", "3", "4", "5"])
        whole = c.list_versions_by_function(FunctionName="paged")
        self.assertNotIn("NextMarker", whole)

    def test_boto3_and_aws_cli_waiters(self):
        c = self.boto()
        c.create_function(FunctionName="waited", Runtime="python3.12", Handler="index.handler", Role=ROLE,
                          Code={"ZipFile": small_zip()})
        for waiter in ("function_exists", "function_active", "function_active_v2"):
            c.get_waiter(waiter).wait(FunctionName="waited", WaiterConfig={"Delay": 1, "MaxAttempts": 30})
        c.update_function_configuration(FunctionName="waited", MemorySize=512)
        for waiter in ("function_updated", "function_updated_v2"):
            c.get_waiter(waiter).wait(FunctionName="waited", WaiterConfig={"Delay": 1, "MaxAttempts": 30})
        version = c.publish_version(FunctionName="waited")["Version"]
        c.get_waiter("published_version_active").wait(FunctionName="waited", Qualifier=version,
                                                      WaiterConfig={"Delay": 1, "MaxAttempts": 30})
        for args in (("function-exists", "--function-name", "waited"),
                     ("function-active", "--function-name", "waited"),
                     ("function-active-v2", "--function-name", "waited"),
                     ("function-updated", "--function-name", "waited"),
                     ("function-updated-v2", "--function-name", "waited"),
                     ("published-version-active", "--function-name", "waited", "--qualifier", version)):
            r = subprocess.run(["aws", "lambda", "wait", *args, "--endpoint-url", self.endpoint],
                               env=dict(os.environ, **DUMMY), capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, (args, r.stderr))

    def test_code_signing_configuration_is_recorded(self):
        c = self.boto()
        self.create("signed")
        arn = "arn:aws:lambda:us-east-1:123456789012:code-signing-config:csc-0123456789abcdef0"
        c.put_function_code_signing_config(FunctionName="signed", CodeSigningConfigArn=arn)
        self.assertEqual(c.get_function_code_signing_config(FunctionName="signed")["CodeSigningConfigArn"], arn)
        c.delete_function_code_signing_config(FunctionName="signed")
        self.assertEqual(c.get_function_code_signing_config(FunctionName="signed")["CodeSigningConfigArn"], "")
        with self.assertRaises(c.exceptions.ResourceNotFoundException):
            c.get_function_code_signing_config(FunctionName="nothere")
        with self.assertRaises(c.exceptions.ResourceNotFoundException):
            c.delete_function(FunctionName="signed", Qualifier="9")


if __name__ == "__main__":
    unittest.main(verbosity=2)
