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

-- The list's path, and the directory that must exist already for it to be made (a
-- HOME that does not exist is never created: tests and services run with HOME=/nonexistent).
function M.file()
  local base = os.getenv("XDG_STATE_HOME")
  if base and base:sub(1, 1) == "/" then return base .. "/lambdaeng/trusted-stacks", base end
  local home = os.getenv("HOME")
  if not home or home:sub(1, 1) ~= "/" then return nil end
  return home .. "/.local/state/lambdaeng/trusted-stacks", home
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

-- The list rewritten without the stacks that no longer exist (temporary directories
-- come and go), once it is long enough for that to matter.
local PRUNE_AT = 256

local function pruned(file, set, real)
  local keep = { real }
  for path in pairs(set) do
    if sys.kind(path) == "file" then keep[#keep + 1] = path end
  end
  local tmp = string.format("%s.tmp.%d", file, sys.pid())
  os.remove(tmp)
  if sys.write_private(tmp, table.concat(keep, "\n") .. "\n") and not os.rename(tmp, file) then os.remove(tmp) end
end

function M.record(stack_path)
  local real = stack_path and sys.realpath(stack_path)
  local file, must_exist = M.file()
  if not real or not file or real:find("\n", 1, true) or sys.kind(real) ~= "file" then return end
  if sys.kind(must_exist) ~= "directory" then return end
  local set, count = listed(), 0
  if set[real] then return end
  for _ in pairs(set) do count = count + 1 end
  if not sys.mkdirs(file:match("^(.*)/[^/]+$")) then return end
  if count >= PRUNE_AT then return pruned(file, set, real) end
  sys.append_private(file, real .. "\n")
end

return M
