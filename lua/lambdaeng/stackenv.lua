-- The environment a stack runs in: its own globals table and its own `require`,
-- so that nothing a stack does reaches into the engine, and nothing of the
-- engine is there for a stack to depend on by accident.
--
-- new(session) -> env: Lua's standard library (load, loadfile and dofile load
-- into env; debug offers traceback and getinfo), the declaration globals (var,
-- output, provider, backend, moved, lookup, fail; `workspace` the workspace in use), and `package` with a path of the stack's own
-- (its directory, lua_modules beside it and in the working directory, a
-- LuaRocks tree there, $LAMBDAENG_PATH, ~/.luarocks) that the stack may extend.
-- require(name) gives, in this order: what this stack loaded already; the
-- public modules of lambdaeng (lambdaeng, lambdaeng.lambda, lambdaeng.json,
-- lambdaeng.hash, lambdaeng.archive) and Lua's own libraries; a file on the
-- stack's path, run in env. Any other lambdaeng.* module is refused by name.
local M = {}

local PUBLIC = { ["lambdaeng"] = true, ["lambdaeng.lambda"] = true, ["lambdaeng.json"] = true,
                 ["lambdaeng.hash"] = true, ["lambdaeng.archive"] = true }
local PUBLIC_LIST = "lambdaeng, lambdaeng.lambda, lambdaeng.json, lambdaeng.hash, lambdaeng.archive"
local LIBRARIES = { "coroutine", "io", "math", "os", "string", "table", "utf8" }
local FUNCTIONS = { "assert", "collectgarbage", "error", "getmetatable", "ipairs", "next", "pairs", "pcall", "print",
                    "rawequal", "rawget", "rawlen", "rawset", "select", "setmetatable", "tonumber", "tostring",
                    "type", "warn", "xpcall", "_VERSION" }

-- Where a stack's modules are looked for (package.path syntax).
local function module_path(stack_dir)
  local paths = {
    stack_dir .. "/?.lua", stack_dir .. "/?/init.lua",
    "./lua_modules/?.lua", "./lua_modules/?/init.lua",
    stack_dir .. "/lua_modules/?.lua", stack_dir .. "/lua_modules/?/init.lua",
    stack_dir .. "/lua_modules/share/lua/5.4/?.lua", stack_dir .. "/lua_modules/share/lua/5.4/?/init.lua",
    "./lua_modules/share/lua/5.4/?.lua", "./lua_modules/share/lua/5.4/?/init.lua",
  }
  local extra = os.getenv("LAMBDAENG_PATH")
  if extra then
    for entry in extra:gmatch("[^;]+") do
      if entry:find("?", 1, true) then paths[#paths + 1] = entry
      else
        paths[#paths + 1] = entry .. "/?.lua"
        paths[#paths + 1] = entry .. "/?/init.lua"
      end
    end
  end
  local home = os.getenv("HOME")
  if home then
    paths[#paths + 1] = home .. "/.luarocks/share/lua/5.4/?.lua"
    paths[#paths + 1] = home .. "/.luarocks/share/lua/5.4/?/init.lua"
  end
  return table.concat(paths, ";")
end

-- The declaration globals (no tail calls: error levels and declaration sites count these frames).
local function declaration_globals(env, session)
  local std = require "lambdaeng"
  env.var = function(name, opts) local v = session:var(name, opts, 2); return v end
  env.output = function(name, value, opts) session:output(name, value, opts, 2) end
  env.provider = function(config) local p = session:provider(config, 2); return p end
  env.backend = function(config) session:backend(config, 2) end
  env.moved = function(spec) require("lambdaeng.moves").declare(session, spec, 2) end
  env.workspace = session.opts.workspace or "default" -- the workspace in use (Terraform's terraform.workspace)
  env.lookup = std.lookup
  env.fail = std.fail
end

-- Where a module was looked for, said in one line, and how to make it found.
local function not_found(name, search_path)
  local cwd = require("lambdaeng.native.sys").cwd()
  local file = name:gsub("%.", "/")
  local dirs, forms, seen = {}, {}, {}
  for template in search_path:gmatch("[^;]+") do
    local q = template:find("?", 1, true)
    if q then
      local dir = template:sub(1, q - 1):gsub("/$", ""):gsub("^%./", "")
      dir = (dir == "" or dir == cwd) and "." or require("lambdaeng.site").display(dir)
      local form = template:sub(q):gsub("%?", file)
      if not seen[dir] then seen[dir], dirs[#dirs + 1] = true, dir end
      if not seen[" " .. form] then seen[" " .. form], forms[#forms + 1] = true, form end
    end
  end
  return string.format("module '%s' not found: looked for %s in %s; put it in lua_modules/ beside the stack "
    .. "(a rock: luarocks --tree lua_modules install ROCK), or add its directory to LAMBDAENG_PATH "
    .. "(directories separated by ';')", name, table.concat(forms, " or "), table.concat(dirs, ", "))
end

-- The stack's require (see the top of this file).
local function requirer(env, loaded)
  return function(name)
    if type(name) ~= "string" then error("bad argument #1 to 'require' (string expected)", 2) end
    if loaded[name] ~= nil then return loaded[name] end
    local preload = env.package.preload[name]
    if preload then
      loaded[name] = preload(name) or true
      return loaded[name]
    end
    if PUBLIC[name] then
      loaded[name] = require(name)
      return loaded[name]
    end
    if name:match("^lambdaeng%.") then
      error(string.format("module '%s' is part of lambdaeng's engine, not for stacks; a stack can require %s",
        name, PUBLIC_LIST), 2)
    end
    local path = package.searchpath(name, env.package.path)
    if not path then error(not_found(name, env.package.path), 2) end
    local chunk, err = loadfile(path, "t", env)
    if not chunk then error(string.format("error loading module '%s' from file '%s':\n\t%s", name, path, err), 2) end
    local value = chunk(name, path)
    if value == nil then value = true end
    if loaded[name] == nil then loaded[name] = value end
    return loaded[name]
  end
end

---@param session table the stack's session (stack.lua), which the globals declare into
---@return table env
function M.new(session)
  local env = {}
  for _, k in ipairs(FUNCTIONS) do env[k] = _G[k] end
  local loaded = {}
  for _, lib in ipairs(LIBRARIES) do
    env[lib] = _G[lib]
    loaded[lib] = _G[lib]
  end
  env.debug = { traceback = debug.traceback, getinfo = debug.getinfo }
  env._G = env
  loaded._G = env
  env.load = function(chunk, name, mode, e) return load(chunk, name, mode, e or env) end
  env.loadfile = function(path, mode, e) return loadfile(path, mode, e or env) end
  env.dofile = function(path)
    local chunk = assert(loadfile(path, "t", env))
    return chunk()
  end
  env.package = { path = module_path(session.dir), cpath = "", loaded = loaded, preload = {},
                  config = package.config, searchpath = package.searchpath }
  env.require = requirer(env, loaded)
  declaration_globals(env, session)
  return env
end

return M
