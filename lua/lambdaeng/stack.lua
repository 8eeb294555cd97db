-- Loading a stack: runs the user's Lua program in a session that records every
-- declaration (kind, name, address, arguments with their references, the
-- file:line it came from), variables, outputs and providers; validates each
-- declaration at once and collects every problem, so one run reports them all.
-- The program runs in an environment of its own (stackenv.lua): its globals and
-- its require never reach the engine's.
local ref = require "lambdaeng.ref"
local site = require "lambdaeng.site"
local schema = require "lambdaeng.schema"
local validate = require "lambdaeng.validate"
local archive = require "lambdaeng.native.archive"
local nhash = require "lambdaeng.native.hash"
local sys = require "lambdaeng.native.sys"
local vm = require "lambdaeng.native.vm"
local secrets = require "lambdaeng.secrets"
local secret_attrs = require "lambdaeng.secret_attrs"
local stackbackend = require "lambdaeng.stackbackend"
local stackvars = require "lambdaeng.stackvars"
local storable = require "lambdaeng.storable"
local default_mismatch, raised_text = stackvars.default_mismatch, stackvars.raised_text

local M = {}
-- What most declarations have none of (meta-arguments, derived values, dependencies):
-- one shared, read-only empty table, which a declaration reads for the fields it does
-- not have, so that its own table keeps to 8 slots (a plan may hold 10,000 of them).
local NONE = setmetatable({}, { __newindex = function() error("a shared empty table is read-only", 2) end })
M.NONE = NONE
local Decl = { __name = "lambdaeng.declaration", __index = { meta = NONE, derived = NONE, deps = NONE } }

local Session = {}
Session.__index = Session

local current -- the session whose stack is being evaluated

local decl_of = setmetatable({}, { __mode = "k" }) -- handle -> declaration
local provider_of = setmetatable({}, { __mode = "k" })

function M.current()
  if not current then error("no stack is being loaded: declarations are made while lambdaeng runs a stack", 3) end
  return current
end

function M.decl_of(handle) return decl_of[handle] end

local function new_session(opts)
  return setmetatable({
    opts = opts or {},
    decls = {},        -- in declaration order
    by_addr = {},
    errors = {},       -- { site=, address=, path=, message= }
    warnings = {},     -- text worth printing that stops nothing
    vars = {},         -- name -> { value=, sensitive=, site= }
    outputs = {},      -- in order: { name=, value=, sensitive=, site= }
    output_by_name = {},
    providers = {},    -- alias ("default" for the unaliased one) -> { config=, site= }
    packages = {},     -- absolute source path -> { bytes=, hash=, size=, files= }
    prefix = "",
  }, Session)
end

function Session:error(at, address, path, message)
  self.errors[#self.errors + 1] = { site = at, address = address, path = path, message = message,
                                    instance = self.current_instance }
end

-- Formats a collected error the way every lambdaeng error reads:
-- "file:line: address: argument: message".
function M.format_error(e)
  local parts = {}
  if e.site then parts[#parts + 1] = e.site.display or e.site end
  if e.address then parts[#parts + 1] = e.address end
  if e.path and e.path ~= "" then parts[#parts + 1] = e.path end
  parts[#parts + 1] = e.message
  local text = table.concat(parts, ": ")
  if e.instance then
    text = text .. string.format(" (in module instance %s, created at %s)", e.instance.name, e.instance.site.display)
  end
  return text
end

-- (vm.is_name: a name matching "^[%a_][%w_%-]*$", in C: the pattern was ~1,500 instructions)
local function check_name(what, name, level)
  if not vm.is_name(name) then
    error(string.format("%s name must be a string of letters, digits, _ and - starting with a letter, got %s",
      what, type(name) == "string" and string.format("%q", name) or type(name)), level + 1)
  end
end

local stackargs = require "lambdaeng.stackargs"
M.with_defaults, M.resolve_args = stackargs.with_defaults, stackargs.resolve_args

-- The package of a `source` path, built once per path per run (deterministic zip).
function Session:package(path)
  local p = self.packages[path]
  if p then return p end
  local bytes, files = archive.zip(path)
  if not bytes then return nil, files end
  p = { path = path, bytes = bytes, files = files, size = #bytes,
        hash = nhash.base64(nhash.sha256_raw(bytes)) }
  self.packages[path] = p
  return p
end

-- Values lambdaeng derives from the arguments at plan time (the code hash of a package).
function Session:derive(decl, report)
  local a = decl.args
  -- functions and layers are packaged alike
  if decl.kind.kind ~= "func" and decl.kind.kind ~= "layer_version" then return end
  local src = a.source
  if type(src) == "string" then
    local abs = site.resolve_path(decl.site, src)
    if not self.packages[abs] and not sys.kind(abs) then -- (packaged already: it was there)
      report("source", string.format("no such file or directory: %s", abs))
      return
    end
    local p, err = self:package(abs)
    if not p then return report("source", err) end
    if p.files == 0 then return report("source", "the directory " .. abs .. " holds no files to package") end
    decl.package = p
    decl.derived = { source_code_hash = p.hash }
  elseif type(a.filename) == "string" then
    local abs = site.resolve_path(decl.site, a.filename)
    if sys.kind(abs) ~= "file" then
      report("filename", string.format("no such file: %s", abs))
      return
    end
    decl.package = { path = abs }
    if a.source_code_hash == nil then
      local hash, herr = nhash.filebase64sha256(abs)
      if not hash then return report("filename", herr) end
      decl.derived = { source_code_hash = hash }
    end
  end
end

local META_NAMES = { depends_on = true, lifecycle = true, timeouts = true, provider = true }
local FLAT = { deps = NONE, has_refs = false } -- what ref.inspect says of flat arguments

local Handle = { __name = "lambdaeng.handle" }

Handle.__index = function(h, key)
  local d = decl_of[h]
  local kind = d.kind
  if kind.args[key] ~= nil then
    local v = d.args[key]
    if v == nil and d.derived then v = d.derived[key] end
    if v == nil then v = kind.args[key].default end
    local facts = ref.inspect(v)
    -- computed fields inside the block (vpc_config.vpc_id) stay unknown until applied
    local computed_keys = kind.nested_computed and kind.nested_computed[key]
    if facts.known and not (v == nil and kind.args[key].computed) then
      -- (a list's {} read back as json.array {}, as state and the API have it: json.encode says [])
      local value = storable.as_spec(kind.args[key], (ref.resolve(v)))
      return ref.attribute(d.address, { key }, { known = true, value = value,
                                                  sensitive = facts.sensitive, computed_keys = computed_keys })
    end
    return ref.attribute(d.address, { key }, { sensitive = facts.sensitive })
  end
  for _, c in ipairs(kind.computed) do
    if c == key then
      local sensitive = kind.sensitive or secret_attrs.follows(kind, key, function(arg)
        return ref.inspect(arg and d.args[arg] or d.args).sensitive end)
      -- (of tags_all, only the tags whose values are sensitive: fn.tags_all.team is not)
      local keys = sensitive and not kind.sensitive and secret_attrs.declared_keys(kind, key, d.args) or nil
      return ref.attribute(d.address, { key }, { sensitive = sensitive or false, sensitive_keys = keys })
    end
  end
  local names = validate.sorted_keys(kind.args)
  for _, c in ipairs(kind.computed) do names[#names + 1] = c end
  local hint = type(key) == "string" and validate.suggest(key, names)
  error(string.format("%s has no attribute %q%s", d.address, tostring(key),
    hint and string.format("; did you mean %q?", hint) or ""), 2)
end
Handle.__newindex = function(h) error(decl_of[h].address .. " is read-only: declare a new resource instead", 2) end
Handle.__tostring = function(h) return decl_of[h].address end

local function address_of(v)
  if decl_of[v] then return decl_of[v].address end
  if ref.is_ref(v) then return nil, ref.fields(v).deps end
  return nil
end

-- A declaration's table, made at its final size: a function or layer packaged from `source`
-- also gets package and derived (Session:derive), named in its constructor for that (as a
-- 9th key they had rehashed each one's table: W3, 1,000 functions, ~1.5 M instructions);
-- others keep to 8 slots (W5's 10,000 functions from S3: 16 would be ~2.5 MB more).
local PACKAGED = { func = true, layer_version = true }
local function new_decl(kind, name, address, at, args, index, instance, handle)
  if PACKAGED[kind.kind] and type(args.source) == "string" then
    return setmetatable({ kind = kind, name = name, address = address, site = at, args = args, index = index,
                          instance = instance, handle = handle, package = nil, derived = nil }, Decl)
  end
  return setmetatable({ kind = kind, name = name, address = address, site = at, args = args, index = index,
                        instance = instance, handle = handle }, Decl)
end

-- Declares a resource of kind (a schema.kinds entry); returns its handle.
function Session:declare(kind, name, args, level)
  level = (level or 1) + 1
  local at = site.caller(level)
  check_name(kind.kind, name, level)
  if type(args) ~= "table" or getmetatable(args) ~= nil then
    error(string.format("%s(%q, args): args must be a table, got %s", kind.kind, name, type(args)), level)
  end
  local address = self.prefix .. kind.prefix .. "." .. name
  local meta, plain, flat = NONE, nil, true
  if args.depends_on == nil and args.lifecycle == nil and args.timeouts == nil and args.provider == nil then
    local tables
    plain, tables = vm.copy(args) -- (most declarations: no meta-argument; at its size, in C)
    flat = not tables
  else
    plain = vm.sized_like(args) -- (filled without a rehash)
    local allowed_meta = kind.meta or META_NAMES
    for k, v in pairs(args) do
      if META_NAMES[k] == nil then
        plain[k] = v
        if flat and type(v) == "table" then flat = false end
      elseif allowed_meta[k] then
        if meta == NONE then meta = {} end
        meta[k] = v
      else
        self:error(at, address, k, "is not a meta-argument of " .. kind.kind)
      end
    end
  end
  local handle = setmetatable({}, Handle)
  local decl = new_decl(kind, name, address, at, plain, #self.decls + 1, self.current_instance, handle)
  if meta ~= NONE then decl.meta = meta end -- (NONE otherwise, through Decl)
  decl_of[handle] = decl
  local function report(path, message) self:error(at, address, path, message) end

  -- Dependencies: every reference inside the arguments, and depends_on.
  -- (arguments without a table hold no reference: most declarations, nothing to walk)
  local facts = flat and FLAT or ref.inspect(plain)
  local referenced = facts.deps
  if meta.depends_on ~= nil then decl.deps = flat and {} or referenced
  elseif next(referenced) ~= nil then decl.deps = referenced end
  if meta.depends_on ~= nil then
    if type(meta.depends_on) ~= "table" or decl_of[meta.depends_on] then
      report("depends_on", "must be a list of resources, e.g. depends_on = { fn }")
    else
      for i, dep in ipairs(meta.depends_on) do
        local addr, deps = address_of(dep)
        if type(dep) == "string" then
          -- an address written out ("func.x", "api/func.x"): may name a later declaration
          if dep:match("^[%w_%-/]*%a[%w_]*%.[%a_][%w_%-]*$") then decl.deps[self.prefix .. dep] = true
          else report("depends_on[" .. i .. "]", string.format("%q is not a resource address such as \"func.hello\"", dep)) end
        elseif addr then decl.deps[addr] = true
        elseif deps then for a in pairs(deps) do decl.deps[a] = true end
        else report("depends_on[" .. i .. "]", "must be a resource handle, got " .. type(dep)) end
      end
    end
  end
  self:check_meta(decl, report)
  self:derive(decl, report)
  -- (without references, resolving would only copy: validation reads, never writes)
  validate.check(kind, facts.has_refs and ref.resolve(plain) or plain, report)

  self.decls[#self.decls + 1] = decl
  if not self.by_addr[address] then self.by_addr[address] = decl end
  return handle
end

function Session:check_meta(decl, report)
  local m = decl.meta
  if m.lifecycle ~= nil then
    local lc = m.lifecycle
    validate.check_value(schema.meta.lifecycle, (ref.resolve(lc)), "lifecycle", report)
    if type(lc) == "table" and type(lc.ignore_changes) == "table" then
      for i, name in ipairs(lc.ignore_changes) do
        if type(name) == "string" and not decl.kind.args[name] then
          validate.unknown_name(report, "lifecycle.ignore_changes[" .. i .. "]", name,
            validate.sorted_keys(decl.kind.args), "argument")
        end
      end
    end
    if type(lc) == "table" and type(lc.action_trigger) == "table" then
      for i, trig in ipairs(lc.action_trigger) do
        if type(trig) == "table" and type(trig.actions) == "table" then
          for j, a in ipairs(trig.actions) do
            local d = decl_of[a]
            if not d or d.kind.kind ~= "action" then
              report(string.format("lifecycle.action_trigger[%d].actions[%d]", i, j),
                "must be an action declared with lambda.action")
            end
          end
        end
      end
    end
  end
  if m.timeouts ~= nil then validate.check_value(schema.meta.timeouts, m.timeouts, "timeouts", report) end
  if m.provider ~= nil then
    local p = provider_of[m.provider] and provider_of[m.provider].alias or m.provider
    if type(p) ~= "string" then
      report("provider", "must be a provider returned by provider{ alias = ... } or its alias")
    elseif not self.providers[p] then
      local aliases = validate.sorted_keys(self.providers)
      validate.unknown_name(report, "provider", p, aliases, "provider alias")
    else
      decl.provider = p
    end
  end
end

-- Raises at the declaration's line when opts holds options fields do not know or refuse.
local function check_options(fields, opts, what, name, level)
  local problems = {}
  validate.check_fields(fields, opts, "", function(p, m) problems[#problems + 1] = p .. " " .. m end, "option")
  if #problems > 0 then error(what .. " " .. name .. ": " .. table.concat(problems, "; "), level + 1) end
end

-- var(name, { default=, description=, sensitive=, validate=, type= })
function Session:var(name, opts, level)
  level = (level or 1) + 1
  local at = site.caller(level)
  check_name("variable", name, level)
  opts = opts or {}
  if type(opts) ~= "table" then error("var(name, opts): opts must be a table", level) end
  check_options(schema.var.args, opts, "variable", name, level)
  if self.vars[name] then
    error(string.format("variable %q is declared twice: at %s and here", name, self.vars[name].site.display), level)
  end
  local default_problem = opts.type and opts.default ~= nil and default_mismatch(opts.type, opts.default)
  if default_problem then
    error(string.format("variable %q: the default %s, but type = %q", name, default_problem, opts.type), level)
  end
  local raw = self.opts.vars and self.opts.vars[name]
  local miscased
  if raw == nil then raw, miscased = stackvars.env_value(name) end
  local value
  if type(raw) == "table" then -- a --var-file's value, already typed
    value = stackvars.typed_file_value(name, raw, opts, level)
  elseif raw ~= nil then
    value = stackvars.parse_text(name, raw, opts, level)
  elseif opts.default ~= nil then
    value = opts.default
    if miscased then self.warnings[#self.warnings + 1] = stackvars.miscased_text(name, miscased, at) end
  else
    error(string.format("variable %q has no value: pass --var %s=VALUE or set LAMBDAENG_VAR_%s%s%s", name, name,
      name, opts.description and (" (" .. opts.description .. ")") or "",
      miscased and ("; " .. miscased .. " is set, but the name is case-sensitive") or ""), level)
  end
  if opts.validate then
    local ok, good, why = pcall(opts.validate, value)
    if not ok then
      error(string.format("variable %q is invalid: %s", name, raised_text(good)), level)
    elseif good == false or (good == nil and why ~= nil) then
      error(string.format("variable %q is invalid: %s", name, why or "rejected by its validate function"), level)
    end
  end
  self.vars[name] = { value = value, sensitive = opts.sensitive == true, site = at }
  if opts.sensitive then
    secrets.add(value)
    return ref.new { known = true, value = value, sensitive = true, label = "var." .. name }
  end
  return value
end

function Session:output(name, value, opts, level)
  level = (level or 1) + 1
  local at = site.caller(level)
  check_name("output", name, level)
  opts = opts or {}
  check_options(schema.output.args, opts, "output", name, level)
  if self.output_by_name[name] then
    error(string.format("output %q is declared twice: at %s and here", name, self.output_by_name[name].site.display), level)
  end
  -- an output is data state keeps: no function, coroutine, NaN or infinity (audit F8)
  local bad, why = validate.output_problem(value)
  if bad then self:error(at, "output." .. name, bad, why) end
  local facts = ref.inspect(value)
  local o = { name = name, value = value, sensitive = opts.sensitive == true or facts.sensitive, site = at,
              deps = facts.deps, declared_sensitive = opts.sensitive == true }
  if facts.sensitive and not opts.sensitive then
    self:error(at, "output." .. name, "", "derives from a sensitive value; declare it with { sensitive = true }")
  end
  self.outputs[#self.outputs + 1] = o
  self.output_by_name[name] = o
end

-- Runs a module body with declarations under "<prefix><name>/".
function Session:instance(name, body, opts, level)
  level = (level or 1) + 1
  check_name("module instance", name, level)
  local at = site.caller()
  local saved_prefix, saved_instance = self.prefix, self.current_instance
  self.prefix = saved_prefix .. name .. "/"
  self.current_instance = { name = saved_prefix .. name, site = at, parent = saved_instance }
  local results = table.pack(xpcall(body, function(e)
    e = site.error_text(e)
    if not e:find("(in module instance", 1, true) then
      return e .. string.format(" (in module instance %s, created at %s)", saved_prefix .. name, at.display)
    end
    return e
  end, opts or {}))
  self.prefix, self.current_instance = saved_prefix, saved_instance
  if not results[1] then error(results[2], 0) end
  return table.unpack(results, 2, results.n)
end

function Session:provider(config, level)
  level = (level or 1) + 1
  local at = site.caller(level)
  if type(config) ~= "table" then error("provider{...} expects a table", level) end
  validate.check_fields(schema.provider.args, config, "", function(path, message)
    self:error(at, "provider", path, message)
  end, "provider setting")
  local alias = config.alias or "default"
  if self.providers[alias] then
    error(string.format("provider %q is configured twice: at %s and here", alias, self.providers[alias].site.display), level)
  end
  local handle = setmetatable({}, { __name = "lambdaeng.provider", __tostring = function() return "provider." .. alias end })
  provider_of[handle] = { alias = alias }
  self.providers[alias] = { config = config, site = at, handle = handle }
  return handle
end

-- backend{ type = "s3", bucket, key, ... } (schema.backend): where the state lives.
function Session:backend(config, level)
  stackbackend.declare(self, config, (level or 1) + 1) -- not a tail call: that frame counts
end

-- The collector's pause while a stack runs (Lua's default: 200). What a stack makes is mostly
-- what lives to the end (its declarations), so each cycle marks it again for little garbage;
-- half as many cycles: W3's stack of 1,000 -2.1 M instructions, W5's plan of 10,000 -19 M
-- (-1.5 %) for +0.8 MB of peak RSS (25.2 -> 26.0 MB; 1,000 gave +1.2 MB).
M.LOAD_PAUSE = 400

-- Runs the stack at path. Returns the session; session.fatal holds a message
-- when the program itself failed (syntax error, runtime error, fail()).
function M.load(path, opts)
  opts = opts or {}
  local session = new_session(opts)
  local abs = site.absolute(path)
  session.path = path
  session.abs_path = abs
  session.dir = site.dirname(abs)
  session.name = (abs:match("([^/]+)$") or "stack"):gsub("%.lua$", "")
  if sys.kind(abs) ~= "file" then
    session.fatal = string.format("cannot read stack %s: no such file", path)
    return session
  end
  session.env = require("lambdaeng.stackenv").new(session)
  local previous = current
  current = session
  -- The chunk is named by the path as the user sees it (relative to the current
  -- directory when inside it), so every error reads "stack.lua:12: ...".
  local chunk, err
  local text = sys.read_file(abs)
  if text then
    chunk, err = load(text, "@" .. site.display(abs), "t", session.env)
  else
    err = "cannot read " .. path
  end
  if not chunk then
    session.fatal = err
  else
    local ok, trace
    local pause = collectgarbage("setpause", M.LOAD_PAUSE)
    ok, err = xpcall(chunk, function(e)
      trace = debug.traceback("", 2)
      return site.error_text(e)
    end)
    collectgarbage("setpause", pause)
    if not ok then
      session.fatal = err
      session.traceback = trace
    end
  end
  current = previous
  return session
end

-- Whether text reads as a stack address (func.hello, module/func.x), not a function name or ARN.
function M.is_address(text)
  return type(text) == "string" and not text:match("^arn:") and text:find("[./]") ~= nil
end

return M
