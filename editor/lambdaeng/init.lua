---@meta lambdaeng
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
