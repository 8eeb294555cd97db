-- The AWS shared configuration files, read the way botocore reads them.
--
-- load() reads the config file ($AWS_CONFIG_FILE or ~/.aws/config) and the
-- credentials file ($AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials) and
-- returns { config_path, credentials_path, profiles, config_profiles,
-- credentials, sso_sessions, services } or nil and an error naming the file and
-- line. In the config file `[default]` and `[profile NAME]` are profiles,
-- `[sso-session NAME]` and `[services NAME]` their own kinds; in the credentials
-- file every section is a profile. `profiles` merges both files (the
-- credentials file's values win), as botocore's full_config does;
-- `config_profiles` and `credentials` keep each file's own view, because some
-- sources read only one of them. Keys are lower-cased; an indented block under
-- an empty value (`lambda =` then `  endpoint_url = ...`) is a table.
local M = {}

local function trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end

-- The words of a section name as shlex.split gives them ("profile  \"a b\"" ->
-- {"profile", "a b"}); nil when the quotes do not close.
local function words(name)
  local out, i, n = {}, 1, #name
  while i <= n do
    while i <= n and name:sub(i, i):match("%s") do i = i + 1 end
    if i > n then break end
    local word = {}
    while i <= n and not name:sub(i, i):match("%s") do
      local c = name:sub(i, i)
      if c == '"' or c == "'" then
        local close = name:find(c, i + 1, true)
        if not close then return nil end
        word[#word + 1] = name:sub(i + 1, close - 1)
        i = close + 1
      else
        word[#word + 1] = c
        i = i + 1
      end
    end
    out[#out + 1] = table.concat(word)
  end
  return out
end

-- A value whose first line is empty holds "key = value" lines (one level deep).
local function nested(value, where)
  local t = {}
  for line in value:gmatch("[^\n]+") do
    local s = trim(line)
    if s ~= "" then
      local k, v = s:match("^([^=]-)%s*=%s*(.*)$")
      if not k then return nil, where .. ": expected NAME = VALUE in the indented block, got " .. string.format("%q", s) end
      t[trim(k)] = v -- as written: botocore reads "Endpoint_URL" as a key of its own
    end
  end
  return t
end

-- Parses one INI file into { [section] = { key = value } } as Python's
-- RawConfigParser does: '#' and ';' start comment lines, '=' or ':' separate a
-- key from its value, indented lines continue the previous value. Returns {}
-- when the file does not exist, nil and an error when it cannot be parsed; the
-- second result lists the section names in the order they first appear.
function M.parse(path)
  local text = require("lambdaeng.native.sys").read_file(path)
  if not text then return {}, {} end
  local sections, order, current, key, value_lines, key_indent = {}, {}, nil, nil, nil, 0
  local key_line = 0
  local function finish()
    if not key then return true end
    local value = table.concat(value_lines, "\n")
    if value:sub(1, 1) == "\n" then
      local t, err = nested(value, string.format("%s:%d", path, key_line))
      if not t then return nil, err end
      current[key] = t
    else
      current[key] = value
    end
    key = nil
    return true
  end
  local n = 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    line = line:gsub("\r$", "")
    local indent = #line:match("^%s*")
    local s = trim(line)
    if s == "" or s:match("^[#;]") then
      if s == "" and key then value_lines[#value_lines + 1] = "" end
    elseif key and indent > key_indent then
      value_lines[#value_lines + 1] = s
    else
      local ok, err = finish()
      if not ok then return nil, err end
      local header = s:match("^%[(.+)%]$")
      if header then
        if not sections[header] then order[#order + 1] = header end
        current = sections[header] or {}
        sections[header] = current
      else
        local k, v = s:match("^([^=:]-)%s*[=:]%s*(.*)$")
        if not k or trim(k) == "" then
          return nil, string.format("%s:%d: expected [SECTION] or NAME = VALUE, got %q", path, n, s)
        end
        if not current then
          return nil, string.format("%s:%d: %q comes before any [section]", path, n, s)
        end
        key, value_lines, key_indent, key_line = trim(k):lower(), { v }, indent, n
      end
    end
  end
  local ok, err = finish()
  if not ok then return nil, err end
  -- Trailing blank lines belong to no value.
  for _, sec in pairs(sections) do
    for k, v in pairs(sec) do if type(v) == "string" then sec[k] = v:gsub("\n+$", "") end end
  end
  return sections, order
end

function M.paths()
  local home = os.getenv("HOME") or ""
  local function expand(p) return (p:gsub("^~/", home .. "/")) end
  local config = os.getenv("AWS_CONFIG_FILE")
  local creds = os.getenv("AWS_SHARED_CREDENTIALS_FILE")
  return expand(config and config ~= "" and config or "~/.aws/config"),
         expand(creds and creds ~= "" and creds or "~/.aws/credentials")
end

function M.load()
  local config_path, credentials_path = M.paths()
  local raw, order = M.parse(config_path)
  if not raw then return nil, order end
  local creds, err = M.parse(credentials_path)
  if not creds then return nil, err end
  local files = { config_path = config_path, credentials_path = credentials_path, config_profiles = {},
                  credentials = creds, sso_sessions = {}, services = {}, profiles = {} }
  local kinds = { profile = files.config_profiles, ["sso-session"] = files.sso_sessions, services = files.services }
  -- In file order, as botocore builds its map: of [default] and [profile default], the later wins.
  for _, name in ipairs(order) do
    local values = raw[name]
    if name == "default" then
      files.config_profiles.default = values
    else
      local w = words(name)
      local kind = w and #w == 2 and kinds[w[1]]
      if kind then kind[w[2]] = values end
    end
  end
  for name, values in pairs(files.config_profiles) do
    local copy = {}
    for k, v in pairs(values) do copy[k] = v end
    files.profiles[name] = copy
  end
  for name, values in pairs(creds) do
    local p = files.profiles[name] or {}
    for k, v in pairs(values) do p[k] = v end
    files.profiles[name] = p
  end
  return files
end

-- Where a profile is written, for messages: "[NAME] in FILE" (or both files).
function M.describe(files, name)
  local in_config, in_creds = files.config_profiles[name] ~= nil, files.credentials[name] ~= nil
  local where = in_config and in_creds and (files.config_path .. " and " .. files.credentials_path)
    or in_creds and files.credentials_path or files.config_path
  return string.format("profile [%s] in %s", name, where)
end

return M
