-- Prints, as JSON, the options lambdaeng's argparse parser gives each command:
-- { command = { visible = [aliases of options shown], hidden = [...] } }, the root's
-- options (every command takes them) under "" . Run: lambdaeng lua cli_options.lua
local json = require "lambdaeng.json"
local parser = require("lambdaeng.cli.init").parser()
local function options(p)
  local visible, hidden = json.array {}, json.array {}
  for _, o in ipairs(p._options or {}) do
    for _, alias in ipairs(o._aliases or {}) do
      local list = o._hidden and hidden or visible
      list[#list + 1] = alias
    end
  end
  table.sort(visible)
  table.sort(hidden)
  return { visible = visible, hidden = hidden }
end
local out = { [""] = options(parser) }
for _, c in ipairs(parser._commands or {}) do out[c._name] = options(c) end
print(json.encode_plain(out))
