-- The proxy a request to a URL goes through, as libcurl 7.88 picks it from the
-- environment (lib/url.c: no_proxy or NO_PROXY first, then <scheme>_proxy, its
-- upper-case form for every scheme but http, then all_proxy or ALL_PROXY; an empty
-- value is no proxy), for messages only: a connection that fails through a proxy
-- names the proxy, so the person looks there and not at the endpoint. libcurl itself
-- chooses where requests go; nothing here changes it.
--
--   for_url(url[, getenv]) -> { shown = "http://host:port", variable = "https_proxy" },
--       or nil when libcurl connects directly; shown never holds the proxy's user or
--       password. getenv (default os.getenv) reads the environment.
--   covered(host, no_proxy) -> whether the no_proxy list names host (libcurl's
--       lib/noproxy.c: "*", names matched whole or as a domain suffix, IPv4 addresses
--       and CIDR ranges)
local M = {}

-- An IPv4 address as a number, or nil.
local function ipv4(text)
  local a, b, c, d = text:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then return nil end
  a, b, c, d = tonumber(a), tonumber(b), tonumber(c), tonumber(d)
  if a > 255 or b > 255 or c > 255 or d > 255 then return nil end
  return ((a * 256 + b) * 256 + c) * 256 + d
end

local function token_covers(host, host_ip, token)
  if host_ip then
    local address, bits = token:match("^([^/]+)/(%d+)$")
    local net = ipv4(address or token)
    bits = tonumber(bits or 32)
    if not net or bits > 32 then return false end
    if bits == 0 then bits = 32 end -- (libcurl: /0 compares the whole address)
    local unit = 2 ^ (32 - bits)
    return host_ip // unit == net // unit
  end
  token = token:gsub("%.$", ""):gsub("^%.", ""):lower()
  if token == "" then return false end
  if token == host then return true end
  return #token < #host and host:sub(-#token - 1) == "." .. token
end

function M.covered(host, no_proxy)
  if not no_proxy or no_proxy == "" then return false end
  if no_proxy == "*" then return true end
  host = host:lower():gsub("^%[(.*)%]$", "%1")
  local host_ip = ipv4(host)
  if not host_ip then host = host:gsub("%.$", "") end
  for token in no_proxy:gmatch("[^,%s]+") do
    if token_covers(host, host_ip, token) then return true end
  end
  return false
end

-- The value libcurl takes for scheme, and the variable it came from.
local function proxy_variable(scheme, getenv)
  local name = scheme:lower() .. "_proxy"
  local value = getenv(name)
  if value == nil and name ~= "http_proxy" then
    name = name:upper()
    value = getenv(name)
  end
  if value == nil then
    name = "all_proxy"
    value = getenv(name)
    if value == nil then
      name = "ALL_PROXY"
      value = getenv(name)
    end
  end
  return value, name
end

-- scheme://host:port of a proxy setting: libcurl's http:// when it names no scheme, and
-- nothing before the last "@" (the user and password, however they are written).
local function shown(value)
  local scheme, rest = value:match("^(%a[%w+.-]*)://(.*)$")
  if not scheme then scheme, rest = "http", value end
  rest = rest:match("^.*@(.*)$") or rest
  return scheme:lower() .. "://" .. rest:match("^[^/?#]*")
end

function M.for_url(url, getenv)
  getenv = getenv or os.getenv
  local scheme, host = url:match("^(%a[%w+.-]*)://([^/?#]*)")
  if not scheme then return nil end
  host = host:match("^.*@(.*)$") or host
  host = host:match("^(%[.*%])") or host:match("^[^:]*")
  if M.covered(host, getenv("no_proxy") or getenv("NO_PROXY")) then return nil end
  local value, variable = proxy_variable(scheme, getenv)
  if not value or value == "" then return nil end
  return { shown = shown(value), variable = variable }
end

return M
