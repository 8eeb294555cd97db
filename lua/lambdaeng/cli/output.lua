-- output STACK.lua [NAME]: the outputs stored by the last run.
local json = require "lambdaeng.json"
local validate = require "lambdaeng.validate"
local workspace = require "lambdaeng.workspace"
local ui = require "lambdaeng.cli.ui"
local common = require "lambdaeng.cli.common"
local sys = require "lambdaeng.native.sys"

local M = {}

M.help = { output = [[
Usage: lambdaeng output [STACK.lua|DIR] [NAME] [--json] [--state PATH]   (default: ./stack.lua)

Prints the outputs stored by the last run. Sensitive outputs show as <sensitive>:
state keeps only a keyed digest of them, so `output NAME` of a sensitive output is
an error and --json lists it without a value.
]] }

function M.add_to_parser(parser)
  local cmd = common.command(parser, "output")
  cmd:argument("stack"):args("?")
  cmd:argument("name"):args("?")
end

local function one(outputs, name, args)
  local out = outputs[name]
  if not out then return nil, "no output named " .. name .. " in the state" end
  if out.sensitive then
    -- Unlike Terraform, which keeps sensitive outputs in clear in its state.
    return nil, "output " .. name .. " is sensitive: lambdaeng stores only a keyed digest of it, never its "
      .. "value, so it cannot be shown; pass the value where it is needed within the stack, or read it "
      .. "from where it comes from"
  end
  if args.json then print(json.encode_plain(out.value)) else
    print(type(out.value) == "string" and out.value or json.encode_plain(out.value))
  end
  return true
end

function M.command(args)
  if args.name == nil and args.stack and not args.stack:match("%.lua$")
     and sys.kind(args.stack) == nil then
    args.stack, args.name = nil, args.stack -- output NAME: the output of ./stack.lua
  end
  local path, perr = common.stack_path(args.stack)
  if not path then return nil, perr or "lambdaeng output needs a stack file: lambdaeng output STACK.lua" end
  args.stack = path
  local ws = workspace.new(args)
  ws.warn = function(text) ui.eprint(text) end
  local st, err = ws:open_state()
  if not st then return nil, err end
  local outputs = st:outputs()
  if args.name then return one(outputs, args.name, args) end
  if args.json then
    local shown = {}
    -- terraform output -json's shape: { sensitive, type, value }, no value when sensitive
    for k, v in pairs(outputs) do shown[k] = require("lambdaeng.plan.json_values").output(v.value, v.sensitive) end
    print(json.encode_plain(shown))
    return true
  end
  for _, k in ipairs(validate.sorted_keys(outputs)) do
    local v = outputs[k]
    print(k .. " = " .. (v.sensitive and "<sensitive>" or json.encode_plain(v.value))) -- as `terraform output`
  end
  return true
end

return M
