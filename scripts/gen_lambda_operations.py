#!/usr/bin/env python3
"""Writes lua/lambdaeng/aws/lambda_operations.lua: every operation of the Lambda API
(2015-03-31) as the wire sees it -- method, path template with its URI parameters,
query and header parameters, the raw-payload member, what the response carries in
headers and status code, and how a listing pages -- from botocore's service model
(botocore/data/lambda/2015-03-31/service-2.json and paginators-1.json, Apache-2.0,
Copyright Amazon.com, Inc. or its affiliates).

Only these facts are kept (a line per operation), not the model's documentation or
shapes: the whole model is 480 KB, mostly documentation lambdaeng never reads.

usage: gen_lambda_operations.py [OUT]      (reads the installed botocore's model;
tests/integration/test_api_operations.py checks the committed table against it)"""
import gzip
import json
import os
import sys


def load_model():
    import botocore
    base = os.path.join(os.path.dirname(botocore.__file__), "data", "lambda", "2015-03-31")
    path = os.path.join(base, "service-2.json")
    service = json.load(gzip.open(path + ".gz") if os.path.exists(path + ".gz") else open(path))
    with open(os.path.join(base, "paginators-1.json")) as f:
        pages = json.load(f)["pagination"]
    return service, pages, botocore.__version__


def is_sensitive(shapes, name, seen=None):
    """Whether a shape holds a value botocore marks sensitive (then its request body is never logged)."""
    seen = seen or set()
    if name in seen:
        return False
    seen.add(name)
    s = shapes[name]
    if s.get("sensitive"):
        return True
    subs = [m["shape"] for m in s.get("members", {}).values()]
    subs += [s[k]["shape"] for k in ("member", "key", "value") if k in s]
    return any(is_sensitive(shapes, sub, seen) for sub in subs)


def lua_string(s):
    return json.dumps(s)  # the names and paths are ASCII without backslashes: JSON quoting is Lua's


def lua_map(d):
    return "{ " + ", ".join(f"{k} = {lua_string(v)}" for k, v in d.items()) + " }"


def entry(service, pages, name):
    """The Lua table constructor of one operation (one line)."""
    op = service["operations"][name]
    shapes = service["shapes"]
    parts = [lua_string(op["http"]["method"]), lua_string(op["http"]["requestUri"])]
    query, headers, body, payload, secret = {}, {}, [], None, False
    in_shape = op.get("input", {}).get("shape")
    if in_shape:
        s = shapes[in_shape]
        payload = s.get("payload")
        for member, m in s["members"].items():
            where = m.get("location")
            if where == "querystring":
                query[member] = m.get("locationName", member)
            elif where == "header":
                headers[member] = m.get("locationName", member)
            elif where != "uri":
                body.append(member)
        secret = is_sensitive(shapes, in_shape)
    if query:
        parts.append("query = " + lua_map(query))
    if headers:
        parts.append("headers = " + lua_map(headers))
    if payload:
        parts.append("payload = " + lua_string(payload))
    elif body:
        parts.append("body = true")
    if secret:
        parts.append("secret = true")
    out_shape = op.get("output", {}).get("shape")
    if out_shape:
        s = shapes[out_shape]
        out_headers, status = {}, None
        for member, m in s["members"].items():
            if m.get("location") == "header":
                out_headers[member] = m["locationName"]
            elif m.get("location") == "statusCode":
                status = member
        if out_headers:
            parts.append("out_headers = " + lua_map(out_headers))
        if status:
            parts.append("out_status = " + lua_string(status))
        if s.get("payload"):
            parts.append("out_payload = " + lua_string(s["payload"]))
    p = pages.get(name)
    if p:
        parts.append("pages = " + lua_map({"input": p["input_token"], "output": p["output_token"],
                                           "limit": p["limit_key"], "result": p["result_key"]}))
    return wrap(f"  {name} = {{ ", parts, " },")


def wrap(head, parts, tail, width=118):
    """head, the parts separated by commas, tail; lines broken between parts at width."""
    lines, line = [], head
    for i, part in enumerate(parts):
        piece = part + ("," if i < len(parts) - 1 else "")
        if len(line) + len(piece) + 1 > width and line.strip() != head.strip():
            lines.append(line.rstrip())
            line = "    "
        line += piece + " "
    lines.append(line.rstrip() + tail)
    return "\n".join(lines)


HEADER = """-- Every operation of the Lambda API (2015-03-31), one line each, as the wire sees
-- it: [1] method, [2] path template ({{Name}} is a URI parameter, percent-encoded),
-- query = {{ Member = "wire name" }}, headers = {{ Member = "Header" }}, payload = the
-- member sent as the raw body (else body = true: the other members as JSON),
-- secret = the request holds a value the model marks sensitive (never logged),
-- out_headers / out_status / out_payload = response members carried in headers,
-- the status code or the raw body, pages = how a listing pages (input token,
-- output token, limit, result list).
--
-- Generated by scripts/gen_lambda_operations.py from botocore's Lambda service model
-- (botocore {version}; Apache-2.0, Copyright Amazon.com, Inc. or its affiliates):
-- facts only, not its documentation. Do not edit by hand: regenerate.
return {{
"""


def generate():
    service, pages, version = load_model()
    lines = [HEADER.format(version=version).rstrip("\n")]
    for name in sorted(service["operations"]):
        lines.append(entry(service, pages, name))
    lines.append("}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    text = generate()
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
