-- Which stacks this user has run: shell completion runs a stack's code (to learn the
-- addresses it declares) only for those, so that pressing Tab in a directory someone
-- else wrote (a cloned repository, a download) never runs its stack.lua. Trust is by
-- path, as `mise trust`: a stack is trusted once you have run any lambdaeng command on
-- it yourself (plan, run, validate, state, ...), which runs its code anyway.
--
--   trust.record(stack_path)   -- remembers it (silently does nothing if it cannot)
--   trust.trusted(stack_path)  -> true | false
--
-- The list is one real path a line in $XDG_STATE_HOME/lambdaeng/trusted-stacks
-- (~/.local/state/... without it), mode 0600; a list another user could have written
-- (not owned by you, group- or world-writable, a link) is ignored.
local sys = require "lambdaeng.native.sys"

local M = {}

function M.file()
  local base = os.getenv("XDG_STATE_HOME")
  if not base or base:sub(1, 1) ~= "/" then
    local home = os.getenv("HOME")
    if not home or home == "" then return nil end
    base = home .. "/.local/state"
  end
  return base .. "/lambdaeng/trusted-stacks"
end

-- The list as a set of paths, or an empty set when there is none or it is not private.
local function listed()
  local file = M.file()
  local text = file and sys.read_private(file)
  local set = {}
  for line in (text or ""):gmatch("[^\n]+") do set[line] = true end
  return set
end

function M.trusted(stack_path)
  local real = stack_path and sys.realpath(stack_path)
  return real ~= nil and listed()[real] == true
end

function M.record(stack_path)
  local real = stack_path and sys.realpath(stack_path)
  local file = M.file()
  if not real or not file or real:find("\n", 1, true) or sys.kind(real) ~= "file" then return end
  if listed()[real] then return end
  if sys.mkdirs(file:match("^(.*)/[^/]+$")) then sys.append_private(file, real .. "\n") end
end

return M
