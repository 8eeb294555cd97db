-- Declaration sites: where in which Lua file something was declared, and the
-- directory that relative paths in that file are resolved against.
local sys = require "lambdaeng.native.sys"
local frame = require("lambdaeng.native.vm").frame

local M = {}

local cwd = sys.cwd()

local function absolute(path)
  if path:sub(1, 1) == "/" then return path end
  return cwd .. "/" .. path
end
M.absolute = absolute

local function dirname(path)
  local d = path:match("^(.*)/[^/]*$")
  if d == nil then return "." end
  if d == "" then return "/" end
  return d
end
M.dirname = dirname

-- A path as the user would write it: relative to the current directory when inside it.
function M.display(path)
  if path:sub(1, #cwd + 1) == cwd .. "/" then return path:sub(#cwd + 2) end
  return path
end

-- The innermost stack frame that is a Lua file outside lambdaeng's own code:
-- the user's stack or module that made the call. caller(level) starts at the frame
-- `level` names, counted as error() counts in the function that calls it (1: that
-- function, the default): a declaration passes the level its errors are raised at,
-- and the frames inside it, lambdaeng's own, are not looked at. From there frames
-- are searched outwards, so one of lambdaeng's own at that level is passed over.
-- A site is shared by everything declared at the same line (a loop declaring
-- 10,000 functions makes one): callers read sites and never change them.
local sites = {} -- source -> line -> site

-- The chunk-name prefixes of lambdaeng's own files: the directory they were loaded from,
-- and the one this file names itself with, which differs when the tree was moved after
-- the build compiled it to bytecode (bytecode keeps the path it was compiled at).
local share = package.lambdaeng_share or "\0"
local compiled = debug.getinfo(1, "S").source:match("^@(.*)/lua/lambdaeng/site%.lua$") or share
function M.engine_file(file)
  return file:sub(1, #share) == share or file:sub(1, #compiled) == compiled
end

-- The user file a function was loaded from, or false for lambdaeng's own code and
-- chunks not loaded from a file. Asked of debug.getinfo once per function: "S"
-- makes a new copy of the source name on every call, and a name longer than the
-- 40 bytes Lua interns would be allocated anew for each of 10,000 declarations.
local file_of = setmetatable({}, { __mode = "k" }) -- function -> file | false
local function user_file(func, level)
  local file = file_of[func]
  if file == nil then
    local src = debug.getinfo(level + 1, "S").source
    file = src:sub(1, 1) == "@" and not M.engine_file(src:sub(2)) and src:sub(2) or false
    file_of[func] = file
  end
  return file
end

function M.caller(level)
  level = level and level + 1 or 2 -- (frame 0 is frame itself, 1 this function)
  while true do
    local func, line = frame(level) -- (debug.getinfo's answer without its table)
    if not func then return { file = "?", line = 0, display = "?", dir = cwd } end
    local file = user_file(func, level)
    if file then
      local lines = sites[file]
      if not lines then lines = {}; sites[file] = lines end
      local at = lines[line]
      if not at then
        at = { file = file, line = line, display = M.display(file) .. ":" .. line, dir = dirname(absolute(file)) }
        lines[line] = at
      end
      return at
    end
    level = level + 1
  end
end

-- The text of an error raised by stack code, for a message handler (xpcall): a
-- string as it is (Lua put its file:line there); any other value through its
-- __tostring, protected (a __tostring that raises must not turn a user's error
-- into an internal one), prefixed with the innermost user frame's file:line.
function M.error_text(e)
  if type(e) == "string" then
    -- error("") says where (Lua put "file:line: " there) and nothing else: say that
    local place, rest = e:match("^([^\n]-:%d+: )(.*)$")
    if not place then place, rest = "", e end
    if not rest:find("%S") then return place .. "error raised with an empty message" end
    -- coroutine.wrap adds where it was resumed to a message that already says where
    -- it was raised: "f.lua:1: f.lua:1: boom" is said once
    local at = e:match("^([^\n]-:%d+: )")
    if at and e:sub(#at + 1, 2 * #at) == at then return e:sub(#at + 1) end
    return e
  end
  local at = M.caller()
  local where = at.line > 0 and (at.display .. ": ") or ""
  if e == nil then return where .. "error raised with no message (error() or error(nil))" end
  local mt = debug.getmetatable(e) -- (getmetatable may give a __metatable field's value)
  if type(e) == "table" and not (mt and rawget(mt, "__tostring")) then
    return where .. "error raised with a table value with no __tostring (nothing to say what went wrong)"
  end
  local ok, text = pcall(tostring, e)
  if ok and type(text) == "string" then return where .. text end
  local why = type(text) == "string" and text or ("a " .. type(text) .. " value")
  return string.format("%serror raised with a %s value whose __tostring failed (%s)", where, type(e), why)
end

-- Resolves a path written in the file of `site` (relative to that file's directory;
-- in a module a LuaRocks rock installed, where nothing is there, the rock's own
-- directory, which holds the files it carries: rocks.lua). A path found there is
-- remembered for its directory: a loop declaring 1,000 functions from one `source`
-- stats it once, not once per function (one that is not there is looked up again).
local found = {} -- directory -> path -> the path resolved (it existed)
function M.resolve_path(site, path)
  if path:sub(1, 1) == "/" then return path end
  local dir = site and site.dir or cwd
  local known = found[dir]
  if known and known[path] then return known[path] end
  local p = dir .. "/" .. path
  if site and site.file and site.file ~= "?" then
    if not sys.kind(p) then return require("lambdaeng.rocks").carried(absolute(site.file), path) or p end
    if not known then known = {}; found[dir] = known end
    known[path] = p
  end
  return p
end

return M
