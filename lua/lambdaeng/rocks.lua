-- LuaRocks trees: which installed rock a module file of a tree belongs to, so a
-- module a rock installed can name the files the rock carries. A rock's Lua modules
-- land in TREE/share/lua/5.4/, but the directories it copies (copy_directories: the
-- function code) land in its own directory, TREE/lib/luarocks/rocks-5.4/NAME/VERSION/;
-- the tree's manifest says which rock installed which module.
--
--   rocks.rock_dir(file)        -> the directory of the rock that installed the Lua
--                                  file (an absolute path in a tree) | nil
--   rocks.carried(file, path)   -> rock_dir(file) .. "/" .. path when that exists | nil
local sys = require "lambdaeng.native.sys"

local M = {}

-- The tree's manifest (a Lua file of assignments), read as data: run in an empty
-- environment, so it can reach nothing.
local function read_manifest(file)
  local f = io.open(file, "rb")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  local env = {}
  local chunk = load(text, "=" .. file, "t", env)
  if not chunk or not pcall(chunk) then return nil end
  return env
end

function M.rock_dir(file)
  local tree, rel = file:match("^(.-)/share/lua/5%.4/(.+)%.lua$")
  if not tree then return nil end
  local modname = (rel:gsub("/init$", ""):gsub("/", "."))
  local rocks = tree .. "/lib/luarocks/rocks-5.4"
  local manifest = read_manifest(rocks .. "/manifest")
  local owners = manifest and type(manifest.modules) == "table" and manifest.modules[modname]
  local owner = type(owners) == "table" and owners[1] -- the version installed at the module's path
  if type(owner) ~= "string" or not owner:match("^[^/]+/[^/]+$") or owner:find("..", 1, true) then return nil end
  return rocks .. "/" .. owner
end

function M.carried(file, path)
  local dir = M.rock_dir(file)
  if not dir then return nil end
  local p = dir .. "/" .. path
  if sys.kind(p) then return p end
  return nil
end

return M
