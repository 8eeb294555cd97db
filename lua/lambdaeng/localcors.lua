-- CORS of the local target's function URLs, as Lambda applies a URL's Cors
-- configuration (AllowOrigins, AllowMethods, AllowHeaders, ExposeHeaders, MaxAge,
-- AllowCredentials):
--   preflight(cors, req) -> status, headers, body when req is a CORS preflight (OPTIONS
--     with Origin and Access-Control-Request-Method) and the URL has a Cors
--     configuration: Lambda answers it itself, without running the function, with the
--     configured headers only (none when the origin is not allowed); nil otherwise.
--   decorate(cors, req, headers) adds the configured CORS headers to the answer of an
--     ordinary request from an allowed origin (next to those the function returned).
-- req.headers are lower-case.
local M = {}

local function listed(list) return type(list) == "table" and #list > 0 end

-- The Access-Control-Allow-Origin value for the request's Origin, or nil when not allowed.
local function allowed_origin(cors, origin)
  if type(origin) ~= "string" or origin == "" or not listed(cors.AllowOrigins) then return nil end
  for _, o in ipairs(cors.AllowOrigins) do
    if o == "*" then return cors.AllowCredentials and origin or "*" end -- "*" cannot go with credentials
    if o:lower() == origin:lower() then return origin end
  end
  return nil
end

function M.is_preflight(cors, req)
  local h = req.headers
  return type(cors) == "table" and req.method == "OPTIONS" and h.origin ~= nil
    and h["access-control-request-method"] ~= nil
end

function M.preflight(cors, req)
  if not M.is_preflight(cors, req) then return nil end
  local headers = { ["Vary"] = "Origin" }
  local origin = allowed_origin(cors, req.headers.origin)
  if origin then
    headers["Access-Control-Allow-Origin"] = origin
    if listed(cors.AllowMethods) then headers["Access-Control-Allow-Methods"] = table.concat(cors.AllowMethods, ", ") end
    if listed(cors.AllowHeaders) then headers["Access-Control-Allow-Headers"] = table.concat(cors.AllowHeaders, ", ") end
    if listed(cors.ExposeHeaders) then headers["Access-Control-Expose-Headers"] = table.concat(cors.ExposeHeaders, ", ") end
    if math.type(cors.MaxAge) == "integer" and cors.MaxAge > 0 then
      headers["Access-Control-Max-Age"] = tostring(cors.MaxAge)
    end
    if cors.AllowCredentials then headers["Access-Control-Allow-Credentials"] = "true" end
  end
  return 200, headers, ""
end

function M.decorate(cors, req, headers)
  if type(cors) ~= "table" then return headers end
  local origin = allowed_origin(cors, req.headers.origin)
  if not origin then return headers end
  headers["Access-Control-Allow-Origin"] = origin
  headers["Vary"] = headers["Vary"] or "Origin"
  if listed(cors.ExposeHeaders) then headers["Access-Control-Expose-Headers"] = table.concat(cors.ExposeHeaders, ", ") end
  if cors.AllowCredentials then headers["Access-Control-Allow-Credentials"] = "true" end
  return headers
end

return M
