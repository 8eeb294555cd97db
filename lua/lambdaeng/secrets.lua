-- Secrets seen in this process, and the last line of defence against printing or
-- storing them in clear.
--
-- Sensitivity is tracked structurally (references carry it; plan and apply store a
-- keyed digest of every sensitive argument, attribute and output). This module is
-- the backstop for what structure cannot see: every value that is known to be
-- secret (a sensitive variable's value, an ephemeral invocation's results, any
-- value computed from a sensitive reference) is registered here, and
--   redact(text)  replaces each occurrence in a line about to be printed with
--                 "(sensitive)": the value itself and the forms it takes when code
--                 prints it: base64, JSON-escaped (a function error that prints
--                 json.dumps(event): with and without \uXXXX for non-ASCII, Go's
--                 escaping of <>&, '/' escaped, either hex case; also escaped
--                 twice, as in the raw payload of such an error) and URL-encoded;
--   scrub(value, digest)  replaces every string inside a value about to be stored
--                 that contains one by { sensitive_digest = digest(string) }.
-- Values shorter than MIN_LENGTH would redact ordinary words: they are protected
-- structurally, and redacted here only as a whole JSON string ("Ab3z9", as in a
-- --debug response body), from MIN_QUOTED bytes on.
local nhash = require "lambdaeng.native.hash"

local M = {}

local MIN_LENGTH, MIN_QUOTED = 6, 3
local registered = {} -- secret -> true
local known = {}   -- text (a secret or one of its forms) -> what replaces it
local exact = {}   -- a short secret -> true (a string that is it is scrubbed)
local ordered = {} -- the texts, longest first, so a secret inside another is replaced whole
local dirty = false

local function add_text(s, replacement)
  if (#s < MIN_LENGTH and not replacement) or known[s] then return end
  known[s] = replacement or "(sensitive)"
  ordered[#ordered + 1] = s
  dirty = true
end

-- The JSON string-literal body of s. opts: hex ("%04x" or "%04X", for \u escapes),
-- ascii (non-ASCII as \uXXXX, surrogate pairs past U+FFFF), html (<>& as \u escapes,
-- as Go does), slash ('/' as \/).
local SHORT = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n",
                ["\r"] = "\\r", ["\t"] = "\\t" }
local function json_escaped(s, opts)
  local u = "\\u" .. opts.hex
  local function cp_text(c)
    local ch = utf8.char(c)
    if SHORT[ch] then return SHORT[ch] end
    if c < 0x20 or (opts.html and (ch == "<" or ch == ">" or ch == "&")) then return string.format(u, c) end
    if opts.slash and ch == "/" then return "\\/" end
    if opts.ascii and c >= 0x80 then
      if c < 0x10000 then return string.format(u, c) end
      c = c - 0x10000
      return string.format(u, 0xD800 + (c >> 10)) .. string.format(u, 0xDC00 + (c & 0x3FF))
    end
    return ch
  end
  local parts = {}
  if utf8.len(s) then
    for _, c in utf8.codes(s) do parts[#parts + 1] = cp_text(c) end
  else -- not UTF-8: bytes past ASCII stay as they are
    for i = 1, #s do
      local b = s:byte(i)
      parts[#parts + 1] = b < 0x80 and cp_text(b) or string.char(b)
    end
  end
  return table.concat(parts)
end

-- Percent-encoding of s: unreserved characters (and those in `safe`) stay.
local function url_encoded(s, safe, plus, hex)
  return (s:gsub("[^A-Za-z0-9%-%._~" .. safe .. "]", function(c)
    if plus and c == " " then return "+" end
    return string.format(hex, c:byte())
  end))
end

-- Every form of s that printing code commonly produces (see redact above).
local function forms(s)
  local out = { s, nhash.base64(s) }
  local escaped = {}
  for _, hex in ipairs({ "%04x", "%04X" }) do
    for _, ascii in ipairs({ false, true }) do
      for _, html in ipairs({ false, true }) do
        for _, slash in ipairs({ false, true }) do
          escaped[json_escaped(s, { hex = hex, ascii = ascii, html = html, slash = slash })] = true
        end
      end
    end
  end
  for e in pairs(escaped) do
    out[#out + 1] = e
    out[#out + 1] = json_escaped(e, { hex = "%04x" }) -- inside a JSON string that holds JSON text
  end
  for _, safe in ipairs({ "", "/", "!*'()" }) do
    for _, hex in ipairs({ "%%%02X", "%%%02x" }) do
      out[#out + 1] = url_encoded(s, safe, false, hex)
      out[#out + 1] = url_encoded(s, safe, true, hex)
    end
  end
  return out
end

-- Registers v (a string, a number, or every string or number value inside a
-- table; not the keys, which are names) as secret, with the forms it takes in print.
function M.add(v, depth)
  depth = depth or 0
  if depth > 20 then return end
  if type(v) == "number" then v = tostring(v) end
  if type(v) == "string" then
    if registered[v] or exact[v] or #v < MIN_QUOTED then return end
    if #v < MIN_LENGTH then
      exact[v] = true
      add_text('"' .. json_escaped(v, { hex = "%04x" }) .. '"', '"(sensitive)"')
      return
    end
    registered[v] = true
    for _, form in ipairs(forms(v)) do add_text(form) end
  elseif type(v) == "table" then
    local mt = getmetatable(v)
    if mt ~= nil and not (type(mt) == "table" and mt.__name == "lambdaeng.json.array") then return end
    for _, x in pairs(v) do M.add(x, depth + 1) end
  end
end

local function sorted()
  if dirty then
    table.sort(ordered, function(a, b) return #a > #b end)
    dirty = false
  end
  return ordered
end

local function contains_secret(s)
  for _, secret in ipairs(sorted()) do
    if s:find(secret, 1, true) then return true end
  end
  return false
end

function M.any() return #ordered > 0 end

-- Whether a registered text spans lines (then only whole texts can be redacted).
function M.multiline()
  for _, text in ipairs(ordered) do if text:find("\n", 1, true) then return true end end
  return false
end

-- text with every registered secret replaced by "(sensitive)".
function M.redact(text)
  if #ordered == 0 or type(text) ~= "string" then return text end
  for _, secret in ipairs(sorted()) do
    local from = 1
    while true do
      local i, j = text:find(secret, from, true)
      if not i then break end
      local replacement = known[secret]
      text = text:sub(1, i - 1) .. replacement .. text:sub(j + 1)
      from = i + #replacement
    end
  end
  return text
end

-- A copy of v in which every string that contains a registered secret is a digest.
function M.scrub(v, digest, depth)
  if #ordered == 0 then return v end
  depth = depth or 0
  if type(v) == "string" then
    if exact[v] or contains_secret(v) then return { sensitive_digest = digest and digest(v) or "(not stored)" } end
    return v
  end
  if type(v) ~= "table" or depth > 50 then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = M.scrub(x, digest, depth + 1) end
  return setmetatable(out, getmetatable(v))
end

-- For tests of this module: forget everything.
function M.reset()
  registered, known, ordered, exact, dirty = {}, {}, {}, {}, false
end

return M
