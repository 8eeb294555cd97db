#!/usr/bin/env python3
"""Writes editor/: LuaLS (lua-language-server) annotations for the lambdaeng.*
surface, one file per `require` name (editor/lambdaeng/lambda.lua for
`require "lambdaeng.lambda"`, .../json.lua, hash.lua, archive.lua, init.lua for
`require "lambdaeng"`) and editor/globals.lua for the stack's globals, from the
engine's own schema (every kind, every argument, its type and enum) and the
reference documents' argument descriptions (../shared/seeds).

usage: gen_annotations.py LAMBDAENG_BINARY OUTDIR   (tests/integration/test_annotations.py
checks that the committed editor/ is what this writes)"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = os.path.join(HERE, "..", "..", "shared", "seeds")

DUMP = r"""
local schema = require "lambdaeng.schema"
local json = require "lambdaeng.json"
local function spec(s)
  local t = { type = s.type, required = s.required or nil, default = s.default, enum = s.enum and json.array(s.enum) or nil,
              min = s.min, max = s.max }
  if s.elem then t.elem = spec(s.elem) end
  if s.fields then t.fields = {} for k, v in pairs(s.fields) do t.fields[k] = spec(v) end end
  return t
end
local out = {}
for name, kind in pairs(schema.kinds) do
  local args = {}
  for k, v in pairs(kind.args) do args[k] = spec(v) end
  local meta = json.array {}
  for m in pairs(kind.meta or { depends_on = true, lifecycle = true, timeouts = true, provider = true }) do
    meta[#meta + 1] = m
  end
  table.sort(meta)
  out[name] = { args = args, computed = json.array(kind.computed or {}), reference = kind.reference, meta = meta }
end
local meta = {}
for k, v in pairs(schema.meta) do meta[k] = spec(v) end
out.__meta = meta
local provider = {}
for k, v in pairs(schema.provider.args) do provider[k] = spec(v) end
out.__provider = provider
local backend = {}
for k, v in pairs(schema.backend.args) do backend[k] = spec(v) end
out.__backend = backend
io.write(json.encode(out))
"""


def descriptions():
    docs = {}
    for path in sorted(glob.glob(os.path.join(SEEDS, "*.txt"))):
        with open(path) as f:
            for line in f:
                m = re.match(r"^\* `([a-z_]+)` - \((Required|Optional)[^)]*\) (.*)$", line.strip())
                if m and m.group(1) not in docs:
                    docs[m.group(1)] = m.group(3).split(". ")[0].rstrip(".") + "."
    return docs


def lua_type(s):
    t = s["type"]
    if t == "string":
        return "|".join(json.dumps(e) for e in s["enum"]) if s.get("enum") else "string"
    if t == "integer":
        return "integer"
    if t == "boolean":
        return "boolean"
    if t == "json":
        return "string|table"
    if t == "client_context":
        return "string|table"
    if t == "list":
        inner = lua_type(s["elem"])
        return f"({inner})[]" if "|" in inner else f"{inner}[]"
    if t == "map":
        return f"table<string, {lua_type(s['elem'])}>"
    if t == "action":
        return "lambdaeng.Action"
    if t == "provider":
        return "string|table"
    if t == "function":
        return "fun(value: any): boolean?, string?"
    return "any"


KIND_DOCS = {
    "func": "A Lambda function (aws_lambda_function).",
    "invocation": "A stateful invocation (aws_lambda_invocation): CREATE_ONLY or CRUD.",
    "ephemeral_invocation": "An invocation made on every plan and run whose result is never stored.",
    "action": "An imperative invoke fired by lifecycle.action_trigger or `run --invoke`.",
    "layer_version": "A layer version (aws_lambda_layer_version): shared code mounted at /opt.",
    "alias": "An alias (aws_lambda_alias): a name for a version, with optional weighted routing.",
    "permission": "A statement of a function's resource-based policy (aws_lambda_permission).",
    "function_url": "A function URL (aws_lambda_function_url): an HTTP endpoint of a function or alias.",
    "event_invoke_config": "Retries and destinations of asynchronous invocations "
                           "(aws_lambda_function_event_invoke_config).",
}


def class_name(kind):
    return "".join(p.capitalize() for p in kind.split("_"))


def block(cls, fields, docs, subs):
    """The ---@class of fields (sub-blocks' classes appended to subs first)."""
    out = [f"---@class {cls}"]
    for name in sorted(fields):
        s = fields[name]
        t = lua_type(s)
        if s["type"] == "block":
            sub = cls + "." + class_name(name)
            subs.extend(block(sub, s["fields"], docs, subs))
            t = sub
        bits = []
        if s.get("default") is not None:
            bits.append(f"Default {json.dumps(s['default'])}.")
        if s.get("min") is not None and s.get("max") is not None and s["type"] == "integer":
            bits.append(f"{s['min']}..{s['max']}.")
        text = " ".join(x for x in [docs.get(name, "")] + bits if x)
        opt = "" if s.get("required") else "?"
        out.append(f"---@field {name}{opt} {t} {text}".rstrip())
    out.append("")
    return out


def lambda_module(data, docs):
    """editor/lambdaeng/lambda.lua: every kind's arguments and handle, and the module."""
    subs, blocks, funcs = [], [], []
    for kind in sorted(k for k in data if not k.startswith("__")):
        cls = class_name(kind)
        args = dict(data[kind]["args"])
        for m in data[kind]["meta"]:
            args[m] = data["__meta"][m]
        blocks += [f"-- {data[kind]['reference']}"] + block(f"lambdaeng.{cls}Args", args, docs, subs)
        blocks += [f"---@class lambdaeng.{cls}"]
        blocks += [f"---@field {c} lambdaeng.Reference computed by Lambda (known after apply)"
                   for c in data[kind]["computed"]]
        blocks += [f"---@field {a} lambdaeng.Reference the declared value" for a in sorted(data[kind]["args"])
                   if a not in data[kind]["computed"]]
        blocks.append("")
        funcs += [f"---{KIND_DOCS.get(kind, kind)}", "---@param name string",
                  f"---@param args lambdaeng.{cls}Args", f"---@return lambdaeng.{cls}",
                  f"function lambda.{kind}(name, args) end", ""]
    lines = ["---@meta lambdaeng.lambda",
             "-- require \"lambdaeng.lambda\": declare AWS Lambda functions, invocations and actions.",
             "-- Generated by scripts/gen_annotations.py from the engine's schema; do not edit.", ""]
    lines += subs + blocks
    lines += ["---@class lambdaeng.Reference",
              "---@field map fun(self: lambdaeng.Reference, f: fun(value: any): any): lambdaeng.Reference",
              "---@field is_known fun(self: lambdaeng.Reference): boolean", "",
              "---@class lambdaeng.lambda", "local lambda = {}", ""] + funcs + ["return lambda", ""]
    return "\n".join(lines)


LIBRARIES = {
    "lambdaeng/json.lua": """---@meta lambdaeng.json
-- require "lambdaeng.json": JSON with a canonical encoder (keys sorted, integers without a fraction).

---@class lambdaeng.json
local json = {}

---JSON null, in both directions.
json.null = nil ---@type lightuserdata

---Marks t as a JSON array (an empty table then encodes as [] rather than {}).
---@param t? table
---@return table
function json.array(t) end

---Canonical JSON text of value (a reference if value holds references).
---@param value any
---@return string|lambdaeng.Reference
function json.encode(value) end

---The Lua value of JSON text (a reference if text is one); integral numbers become integers.
---@param text string|lambdaeng.Reference
---@return any
function json.decode(text) end

---true when text is valid JSON, else false and the parser's message.
---@param text string
---@return boolean ok
---@return string? message
function json.valid(text) end

return json
""",
    "lambdaeng/hash.lua": """---@meta lambdaeng.hash
-- require "lambdaeng.hash": digests and base64; every function accepts references.

---@class lambdaeng.hash
local hash = {}

---@param s string|lambdaeng.Reference
---@return string|lambdaeng.Reference hex
function hash.sha1(s) end

---@param s string|lambdaeng.Reference
---@return string|lambdaeng.Reference hex
function hash.sha256(s) end

---@param s string|lambdaeng.Reference
---@return string|lambdaeng.Reference
function hash.base64(s) end

---@param s string|lambdaeng.Reference
---@return string|lambdaeng.Reference
function hash.base64decode(s) end

---base64 of the raw sha256 digest, as Terraform's base64sha256().
---@param s string|lambdaeng.Reference
---@return string|lambdaeng.Reference
function hash.base64sha256(s) end

---base64sha256 of a file's bytes (the path relative to the calling file).
---@param path string|lambdaeng.Reference
---@return string|lambdaeng.Reference
function hash.filebase64sha256(path) end

return hash
""",
    "lambdaeng/archive.lua": """---@meta lambdaeng.archive
-- require "lambdaeng.archive": deterministic zip packages (the same tree, the same bytes).

---@class lambdaeng.archive
local archive = {}

---Packs a file or directory (relative to the calling file): the zip's bytes and its number of files.
---@param path string
---@return string bytes
---@return integer files
function archive.zip(path) end

---Packs path into the zip file out; returns its base64 sha256 (Lambda's CodeSha256).
---@param path string
---@param out string
---@return string code_sha256
function archive.write(path, out) end

---base64(sha256(bytes)) and the size, without writing anything.
---@param bytes string
---@return string code_sha256
---@return integer size
function archive.describe(bytes) end

return archive
""",
    "lambdaeng/init.lua": """---@meta lambdaeng
-- require "lambdaeng": the standard library's entry point.

---@class lambdaeng
local lambdaeng = {}

lambdaeng.json = require "lambdaeng.json"
lambdaeng.hash = require "lambdaeng.hash"
lambdaeng.archive = require "lambdaeng.archive"

---The value at path inside t (nested tables), or default when any step is missing.
---@param t table|lambdaeng.Reference
---@param path any[]
---@param default? any
---@return any
function lambdaeng.lookup(t, path, default) end

---Stops the program with message, naming the calling file:line.
---@param message string
function lambdaeng.fail(message) end

---A reusable module: module(body) returns instance(name, opts), which runs body(opts) with every
---declaration addressed under "name/".
---@param body fun(opts: any): any
---@return fun(name: string, opts?: any): any
function lambdaeng.module(body) end

---string.format that accepts references.
---@param fmt string
---@return string|lambdaeng.Reference
function lambdaeng.format(fmt, ...) end

return lambdaeng
""",
}


def globals_file(data, docs):
    """editor/globals.lua: the globals every stack has."""
    subs, lines = [], ["---@meta", "-- The globals of a stack (var, output, provider, backend, workspace, lookup, fail).",
                       "-- Generated by scripts/gen_annotations.py; point your editor at this folder:",
                       '-- .luarc.json: { "workspace.library": ["<lambdaeng>/editor"] }', ""]
    main_blocks = block("lambdaeng.ProviderArgs", data["__provider"], docs, subs)
    main_blocks += block("lambdaeng.BackendArgs", data["__backend"], docs, subs)
    lines += subs + main_blocks
    lines += [
        "---@param name string",
        "---@param opts? { default?: any, description?: string, sensitive?: boolean, validate?: fun(v: any): boolean?, string?, type?: \"string\"|\"number\"|\"bool\"|\"json\" }",
        "---@return any",
        "function var(name, opts) end",
        "",
        "---@param name string",
        "---@param value any",
        "---@param opts? { sensitive?: boolean, description?: string }",
        "function output(name, value, opts) end",
        "",
        "---@param config lambdaeng.ProviderArgs",
        "---@return table",
        "function provider(config) end",
        "",
        "---Where the state lives: local files (the default) or an S3 object (README: Working as a team).",
        "---@param config lambdaeng.BackendArgs",
        "function backend(config) end",
        "",
        "---The workspace in use (lambdaeng workspace select, or LAMBDAENG_WORKSPACE).",
        "---@type string",
        "workspace = \"default\"",
        "",
        "---@param t table|lambdaeng.Reference",
        "---@param path any[]",
        "---@param default? any",
        "---@return any",
        "function lookup(t, path, default) end",
        "",
        "---@param message string",
        "function fail(message) end",
        "",
    ]
    return "\n".join(lines)


def files(binary):
    """{path under editor/: text}."""
    with tempfile.TemporaryDirectory() as tmp:
        dump = os.path.join(tmp, "dump.lua")
        with open(dump, "w") as f:
            f.write(DUMP)
        # the schema is the engine's own: read with the engine's interpreter (a stack cannot require it)
        out = subprocess.run([binary, "lua", dump], capture_output=True, text=True, check=True).stdout
    data = json.loads(out[: out.rindex("}") + 1])
    docs = descriptions()
    result = {"globals.lua": globals_file(data, docs), "lambdaeng/lambda.lua": lambda_module(data, docs)}
    result.update(LIBRARIES)
    return result


def main():
    binary, outdir = sys.argv[1], sys.argv[2]
    for rel, text in files(binary).items():
        path = os.path.join(outdir, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
