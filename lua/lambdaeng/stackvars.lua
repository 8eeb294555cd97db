-- Helpers of var() in a stack: whether a default fits the variable's declared type
-- (as Terraform's "Invalid default value for variable"), what a validate function
-- raised, as a message a person can read, and the values the command line gives:
-- --var NAME=VALUE (text, converted to the declared type) and --var-file FILE (a
-- Lua file of `name = value` lines or `return { ... }`, or a JSON object: typed
-- values, checked against the declared type). --var wins over every file; a later
-- file over an earlier one. LAMBDAENG_VAR_<name> comes last, the name spelled as
-- declared (environment names are case-sensitive, as Terraform's TF_VAR_<name>).
-- JSON values (a --var of type json, a .json var file) keep their empty arrays as
-- arrays (json.array), so that json.encode of them says [] where the user wrote [], and
-- their integers within 64 bits exact (one past that is refused, naming the variable).
--
--   default_mismatch(type, default) -> nil | why it does not fit
--   raised_text(e)                  -> text (never "table: 0x...")
--   from_command_line(pairs, files) -> vars (name -> text | { value, file }) | nil, err
--   parse_text(name, raw, opts, level) -> a --var's (or LAMBDAENG_VAR_'s) text as the declared
--                                         type, or an error at the var() line (level)
--   env_value(name)                 -> text | nil, and the wrongly-cased variable seen
--   undeclared(vars, declared)      -> errors (--var), warnings (--var-file)
local validate = require "lambdaeng.validate"
local json = require "lambdaeng.json"
local native_json = require "lambdaeng.native.json"
local sys = require "lambdaeng.native.sys"

local M = {}

-- Why a var's default does not fit its declared type (nil when it does), as
-- Terraform's "Invalid default value for variable".
function M.default_mismatch(ty, d)
  local shown = type(d) == "string" and string.format("%q", d) or tostring(d)
  if ty == "number" then
    if type(d) ~= "number" then return shown .. " is not a number" end
    if d ~= d or d == math.huge or d == -math.huge then return shown .. " is not a finite number" end
  elseif ty == "bool" then
    if type(d) ~= "boolean" then return shown .. " is not true or false" end
  elseif ty == "string" then
    if type(d) ~= "string" then return shown .. " is not a string" end
  elseif ty == "json" then
    local path, why = validate.value_problem(d)
    if path then return (path ~= "" and ("at " .. path .. " ") or "") .. why end
  end
end

-- What a validate function raised, as a message (an error value without text is named, never "table: 0x...").
function M.raised_text(e)
  if type(e) == "string" then return e end
  local mt = getmetatable(e)
  if type(mt) == "table" and mt.__tostring then
    local ok, text = pcall(tostring, e)
    if ok and type(text) == "string" then return text end
  end
  if type(e) == "number" or type(e) == "boolean" then return tostring(e) end
  return "its validate function raised a " .. type(e) .. " value instead of a message"
end

-- A Lua var file: run with nothing but its own assignments (no library, no I/O).
local function lua_var_file(path, text)
  local env = {}
  local chunk, err = load(text, "@" .. path, "t", env)
  if not chunk then return nil, err end
  local ok, returned = pcall(chunk)
  if not ok then return nil, tostring(returned) end
  if returned ~= nil and type(returned) ~= "table" then
    return nil, path .. ": a var file returns a table of values (or assigns name = value), not a " .. type(returned)
  end
  return returned or env
end

-- "variable \"name\": " for the top-level member of a JSON var file whose value holds byte at,
-- or "" (the text is JSON but for a number the exact decoder refused, which cjson reads).
local function variable_at(text, at)
  local ok, values = pcall(json.decode_cjson, text)
  if not ok or type(values) ~= "table" then return "" end
  for name in pairs(values) do
    local first, last = native_json.member_span(text, tostring(name))
    if first and first <= at and at <= last then return string.format("variable %q: ", name) end
  end
  return ""
end

-- The values of one --var-file: name -> value.
local function read_var_file(path)
  local text = sys.kind(path) == "file" and sys.read_file(path)
  if not text then return nil, "--var-file " .. path .. ": no such file" end
  local values, err
  if path:match("%.json$") then
    local v, why, kind, at = json.decode_exact(text) -- a value's [] stays an array, an integer exact
    if kind == "number" then return nil, "--var-file " .. path .. ": " .. variable_at(text, at) .. why end
    if why then return nil, "--var-file " .. path .. (kind == "syntax" and ": not JSON: " or ": ") .. why end
    if type(v) ~= "table" or getmetatable(v) ~= nil or (next(v) ~= nil and v[1] ~= nil) then
      return nil, "--var-file " .. path .. ": expected a JSON object of variable values"
    end
    values = v
  else
    values, err = lua_var_file(path, text)
    if not values then return nil, "--var-file " .. err end
  end
  for k, v in pairs(values) do
    if type(k) ~= "string" or not k:match("^[%a_][%w_%-]*$") then
      return nil, string.format("--var-file %s: %s is not a variable name", path, tostring(k))
    end
    local where, why = validate.value_problem(v)
    if where then return nil, string.format("--var-file %s: %s%s: %s", path, k, where, why) end
  end
  return values
end

function M.from_command_line(var_pairs, files)
  local vars = {}
  for _, path in ipairs(files or {}) do
    local values, err = read_var_file(path)
    if not values then return nil, err end
    for k, v in pairs(values) do vars[k] = { value = v, file = path } end
  end
  for _, pair in ipairs(var_pairs or {}) do vars[pair[1]] = pair[2] end
  return vars
end

-- LAMBDAENG_VAR_<name> as declared; when unset, the same name in other case seen
-- (LAMBDAENG_VAR_ROLE_ARN for role_arn), to say why it was not used.
function M.env_value(name)
  local v = os.getenv("LAMBDAENG_VAR_" .. name)
  if v ~= nil then return v end
  for _, other in ipairs { name:upper(), name:lower() } do
    if other ~= name and os.getenv("LAMBDAENG_VAR_" .. other) ~= nil then return nil, "LAMBDAENG_VAR_" .. other end
  end
  return nil
end

-- A variable's value given as text (--var, LAMBDAENG_VAR_*), as the type it is declared with.
function M.parse_text(name, raw, opts, level)
  local want = opts.type or (opts.default ~= nil and type(opts.default)) or "string"
  if want == "number" then
    local value = tonumber(raw)
    if value == nil then error(string.format("variable %q must be a number, got %q", name, raw), level + 1) end
    if math.type(value) == "float" and raw:match("^%s*[-+]?%d+%s*$") then -- (tonumber rounded it to a double)
      error(string.format("variable %q: the integer %s is outside the 64-bit range (-2^63 to 2^63-1) in which "
        .. "lambdaeng keeps integers exact", name, raw), level + 1)
    end
    return math.tointeger(value) or value
  elseif want == "bool" or want == "boolean" then
    if raw == "true" then return true elseif raw == "false" then return false end
    error(string.format("variable %q must be true or false, got %q", name, raw), level + 1)
  elseif want == "json" or want == "table" then
    local v, why, kind = json.decode_exact(raw) -- [] stays an array, an integer exact, as the user wrote them
    if why then
      error(string.format(kind == "syntax" and "variable %q must be JSON: %s" or "variable %q: %s", name, why), level + 1)
    end
    return v
  end
  return raw
end

-- A --var-file's value ({ value, file }) for var(name, opts): of the declared type
-- (opts.type, or the default's), or an error at the var() line naming the file.
function M.typed_file_value(name, given, opts, level)
  local want = opts.type or (opts.default ~= nil and type(opts.default)) or nil
  want = ({ boolean = "bool", table = "json" })[want] or want
  local problem = want and M.default_mismatch(want, given.value)
  if problem then
    error(string.format("variable %q: the value in %s %s (the variable is of type %s)", name, given.file, problem,
      want), level + 1)
  end
  return given.value
end

function M.miscased_text(name, seen, at)
  return string.format("Warning: %s: variable %q uses its default: %s is set, but LAMBDAENG_VAR_ names are "
    .. "case-sensitive (LAMBDAENG_VAR_%s)", at.display, name, seen, name)
end

-- Values given for variables the stack does not declare: --var is an error (as
-- Terraform's "Value for undeclared variable"), a var file's value a warning.
function M.undeclared(vars, declared)
  local errs, warnings = {}, {}
  for name, v in pairs(vars or {}) do
    if not declared[name] then
      local hint = validate.suggest(name, validate.sorted_keys(declared))
      local tail = hint and ("; did you mean " .. hint .. "?") or ""
      if type(v) == "table" then
        warnings[#warnings + 1] = string.format("Warning: --var-file %s sets %q, which the stack does not declare%s",
          v.file, name, tail)
      else
        errs[#errs + 1] = string.format("--var %s: the stack declares no variable %q (declare it with var(%q)%s)",
          name, name, name, hint and ("; did you mean " .. hint .. "?") or "")
      end
    end
  end
  table.sort(errs)
  table.sort(warnings)
  return errs, warnings
end

return M
