-- The local target's layers (Lambda API 2018-10-31): PublishLayerVersion,
-- GetLayerVersion, GetLayerVersionByArn, ListLayerVersions, ListLayers and
-- DeleteLayerVersion in the API's shapes, the content stored and unpacked like a
-- function's package (localstore), and what a function's Layers mean when it runs:
--   check(target, layers, code_file) refuses unknown layer versions, more than 5,
--     and a function whose package and layers unzip to more than 250 MB;
--   fill(target, cfg) gives each of cfg.Layers its real CodeSize;
--   opt_dir(target, cfg) the directory mounted at /opt: the layers unpacked in
--     order, a later one's files over an earlier one's, as Lambda merges them.
-- A deleted version a function still uses is kept (hidden) until no function
-- uses it, as Lambda keeps a copy for the functions that use it.
-- target.layers = { NAME = { next_version = N, versions = { ["N"] = doc } } }; a
-- doc's `file` (the package's sha256) and `deleted` are the target's own.
local json = require "lambdaeng.json"
local sys = require "lambdaeng.native.sys"
local nhash = require "lambdaeng.native.hash"
local archive = require "lambdaeng.native.archive"

local localapi = require "lambdaeng.localapi"

local M = {}
local err, ok, validation = localapi.error_response, localapi.ok, localapi.validation

local MAX_UNZIPPED, MAX_LAYERS = 262144000, 5
local ARCHITECTURES = { x86_64 = true, arm64 = true }

local function now_iso()
  local t = sys.now()
  return os.date("!%Y-%m-%dT%H:%M:%S", math.floor(t)) .. string.format(".%03d+0000", math.floor((t % 1) * 1000))
end

local function layer_arn(t, name) return string.format("arn:aws:lambda:%s:000000000000:layer:%s", t.region, name) end

-- A version as the API answers it (without the target's own fields), every list an array.
local function document(doc)
  local out = {}
  for k, v in pairs(doc) do if k ~= "file" and k ~= "deleted" then out[k] = v end end
  out.CompatibleRuntimes = doc.CompatibleRuntimes and json.array(table.move(doc.CompatibleRuntimes, 1,
    #doc.CompatibleRuntimes, 1, {})) or nil
  out.CompatibleArchitectures = doc.CompatibleArchitectures and json.array(table.move(doc.CompatibleArchitectures, 1,
    #doc.CompatibleArchitectures, 1, {})) or nil
  out.Content = {}
  for k, v in pairs(doc.Content or {}) do out.Content[k] = v end
  return out
end

-- The listing item of a version (LayerVersionsListItem: no Content, no LayerArn).
local function list_item(doc)
  local out = document(doc)
  out.Content, out.LayerArn = nil, nil
  return out
end

-- The stored version an ARN names (deleted ones only when asked: a function still runs them).
local function find(t, arn, with_deleted)
  if type(arn) ~= "string" then return nil end
  local name, version = arn:match("^arn:[^:]+:lambda:[^:]*:[^:]*:layer:([^:]+):(%d+)$")
  local layer = name and t.layers[name]
  local doc = layer and layer.versions[version]
  if not doc or doc.LayerVersionArn ~= arn or (doc.deleted and not with_deleted) then return nil end
  return doc
end

-- A string list of at most max members, each in allowed (a set) when given.
local function string_list(v, field, max, allowed)
  if v == nil then return true end
  if type(v) ~= "table" then return nil, validation(field, v, "Member must be a list") end
  if #v > max then return nil, validation(field, "[...]", "Member must have length less than or equal to " .. max) end
  for _, x in ipairs(v) do
    if type(x) ~= "string" or (allowed and not allowed[x]) then
      return nil, validation(field, x, "Member must satisfy enum value set")
    end
  end
  return true
end

local RUNTIMES
local function runtimes()
  if not RUNTIMES then
    RUNTIMES = {}
    for _, r in ipairs(require("lambdaeng.schema").RUNTIMES) do RUNTIMES[r] = true end
  end
  return RUNTIMES
end

local function publish(t, name, body)
  if not name:match("^[%w_%-]+$") or #name > 140 then
    return validation("layerName", name, "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+")
  end
  local input, bs, bh, bb = localapi.json_body(body)
  if not input then return bs, bh, bb end
  if type(input.Content) ~= "table" then return validation("content", "null", "Member must not be null") end
  if input.Description ~= nil and (type(input.Description) ~= "string" or #input.Description > 256) then
    return validation("description", input.Description, "Member must have length less than or equal to 256")
  end
  if input.LicenseInfo ~= nil and (type(input.LicenseInfo) ~= "string" or #input.LicenseInfo > 512) then
    return validation("licenseInfo", input.LicenseInfo, "Member must have length less than or equal to 512")
  end
  local good, s, h, b = string_list(input.CompatibleRuntimes, "compatibleRuntimes", 15, runtimes())
  if not good then return s, h, b end
  good, s, h, b = string_list(input.CompatibleArchitectures, "compatibleArchitectures", 2, ARCHITECTURES)
  if not good then return s, h, b end
  if input.Content.ImageUri then
    return err(400, "InvalidParameterValueException", "Layers hold a .zip file archive, not a container image")
  end
  local code, cerr = t:store_code(input.Content)
  if not code then return err(cerr.status, cerr.type, cerr.message) end
  local layer = t.layers[name]
  if not layer then layer = { next_version = 1, versions = {} } t.layers[name] = layer end
  local version = layer.next_version
  layer.next_version = version + 1
  local arn = layer_arn(t, name)
  local doc = {
    Content = { Location = "file://" .. (t.dir or "") .. "/code/" .. tostring(code.file) .. ".zip",
                CodeSha256 = code.sha, CodeSize = code.size },
    LayerArn = arn, LayerVersionArn = arn .. ":" .. version, Description = input.Description or "",
    CreatedDate = now_iso(), Version = version, LicenseInfo = input.LicenseInfo,
    CompatibleRuntimes = input.CompatibleRuntimes, CompatibleArchitectures = input.CompatibleArchitectures,
    file = code.file,
  }
  layer.versions[tostring(version)] = doc
  t:save()
  t:note("PublishLayerVersion %s:%d", name, version)
  return ok(201, document(doc))
end

-- Whether a function's configuration (any version) still uses the layer version arn.
local function in_use(t, arn)
  for _, fn in pairs(t.functions) do
    for _, cfg in pairs(fn.versions or {}) do
      for _, l in ipairs(cfg.Layers or {}) do if l.Arn == arn then return true end end
    end
    for _, l in ipairs(fn.latest.Layers or {}) do if l.Arn == arn then return true end end
  end
  return false
end

-- Forgets the deleted versions no function uses any more (collect then removes their files).
function M.prune(t)
  for _, layer in pairs(t.layers) do
    for v, doc in pairs(layer.versions) do
      if doc.deleted and not in_use(t, doc.LayerVersionArn) then layer.versions[v] = nil end
    end
  end
end

local function delete(t, name, version)
  local layer = t.layers[name]
  local doc = layer and layer.versions[version]
  if doc then
    doc.deleted = true
    M.prune(t)
    t:save()
    t:collect()
    t:note("DeleteLayerVersion %s:%s", name, version)
  end
  return ok(204) -- as Lambda: deleting a version that is not there succeeds
end

-- The live versions of a layer, newest first, filtered as ListLayerVersions filters.
local function live_versions(layer, q)
  local list = {}
  for _, doc in pairs(layer.versions) do
    local keep = not doc.deleted
    if keep and q.CompatibleRuntime then
      keep = false
      for _, r in ipairs(doc.CompatibleRuntimes or {}) do if r == q.CompatibleRuntime then keep = true end end
    end
    if keep and q.CompatibleArchitecture then
      keep = false
      for _, a in ipairs(doc.CompatibleArchitectures or {}) do if a == q.CompatibleArchitecture then keep = true end end
    end
    if keep then list[#list + 1] = doc end
  end
  table.sort(list, function(a, b) return a.Version > b.Version end)
  return list
end

-- A page of items: MaxItems (1..50, default 50) from Marker (an index this target gave).
local function page(items, q, key)
  local max = tonumber(q.MaxItems or "50")
  if not max or max < 1 or max > 50 then return nil, validation("maxItems", q.MaxItems, "Member must have value "
    .. "between 1 and 50") end
  local first = tonumber(q.Marker or "1")
  if not first or first < 1 then return nil, err(400, "InvalidParameterValueException", "Marker is not valid") end
  local out = {}
  for i = first, math.min(#items, first + max - 1) do out[#out + 1] = items[i] end
  local doc = { [key] = json.array(out) }
  if first + max <= #items then doc.NextMarker = tostring(first + max) end
  return doc
end

local function list_layers(t, q)
  local names = {}
  for name, layer in pairs(t.layers) do
    if #live_versions(layer, q) > 0 then names[#names + 1] = name end
  end
  table.sort(names)
  local items = {}
  for _, name in ipairs(names) do
    local latest = live_versions(t.layers[name], q)[1]
    items[#items + 1] = { LayerName = name, LayerArn = layer_arn(t, name), LatestMatchingVersion = list_item(latest) }
  end
  local doc, s, h, b = page(items, q, "Layers")
  if not doc then return s, h, b end
  return ok(200, doc)
end

-- Routes a request on /2018-10-31/layers...; nil when it is not one.
function M.route(t, req, q)
  local rest = req.path:match("^/2018%-10%-31/layers(.*)$")
  if not rest then return nil end
  local method = req.method
  if (rest == "" or rest == "/") and method == "GET" then
    if q.find == "LayerVersion" then
      local doc = find(t, q.Arn)
      if not doc then return err(404, "ResourceNotFoundException", "The resource you requested does not exist.") end
      return ok(200, document(doc))
    end
    return list_layers(t, q)
  end
  local name, tail = rest:match("^/([^/]+)/versions(.*)$")
  if not name then return nil end
  name = localapi.url_decode(name)
  name = name:match("^arn:[^:]+:lambda:[^:]*:[^:]*:layer:([^:]+)$") or name -- LayerName may be the layer's ARN
  if tail == "" or tail == "/" then
    if method == "POST" then return publish(t, name, req.body) end
    if method == "GET" then
      local layer = t.layers[name]
      local doc, s, h, b = page(layer and live_versions(layer, q) or {}, q, "LayerVersions")
      if not doc then return s, h, b end
      for i, v in ipairs(doc.LayerVersions) do doc.LayerVersions[i] = list_item(v) end
      return ok(200, doc)
    end
    return nil
  end
  local version = tail:match("^/(%d+)$")
  if not version then return nil end
  version = tostring(math.tointeger(tonumber(version)))
  if method == "DELETE" then return delete(t, name, version) end
  if method == "GET" then
    local layer = t.layers[name]
    local doc = layer and layer.versions[version]
    if not doc or doc.deleted then
      return err(404, "ResourceNotFoundException", "The resource you requested does not exist.")
    end
    return ok(200, document(doc))
  end
end

-- The unzipped size of a stored package (code/<file>.zip), or 0 without a directory.
local function unzipped(t, file)
  if not t.dir or not file then return 0 end
  return archive.unzipped_size(t.dir .. "/code/" .. file .. ".zip") or 0
end

-- Lambda's refusal when code_file unzipped with each of docs' files passes MAX_UNZIPPED, or nothing.
local function check_unzipped(t, code_file, docs)
  local total = unzipped(t, code_file)
  for _, doc in ipairs(docs) do total = total + unzipped(t, doc.file) end
  if total > MAX_UNZIPPED then
    return err(400, "InvalidParameterValueException", string.format("Function code combined with layers exceeds the "
      .. "maximum allowed size of %d bytes. The actual size is %d bytes.", MAX_UNZIPPED, total))
  end
end

-- Refuses what Lambda refuses of a function's Layers (a list of version ARNs) with
-- its package code_file: returns nothing, or status, headers, body.
function M.check(t, layers, code_file)
  if type(layers) ~= "table" then return end
  if #layers > MAX_LAYERS then
    return err(400, "InvalidParameterValueException", "Cannot reference more than 5 layers.")
  end
  local docs = {}
  for i, arn in ipairs(layers) do
    docs[i] = type(arn) == "string" and find(t, arn)
    if not docs[i] then
      return err(400, "InvalidParameterValueException", "Layer version " .. tostring(arn) .. " does not exist.")
    end
  end
  return check_unzipped(t, code_file, docs)
end

-- The size check of new code under the layers a function already has (one that
-- cannot be found counts for nothing).
function M.check_code(t, cfg, code_file)
  if #(cfg.Layers or {}) == 0 then return end
  local docs = {}
  for _, l in ipairs(cfg.Layers) do docs[#docs + 1] = find(t, l.Arn, true) end
  return check_unzipped(t, code_file, docs)
end

-- Each of cfg.Layers with the real CodeSize of its version.
function M.fill(t, cfg)
  for _, l in ipairs(cfg.Layers or {}) do
    local doc = find(t, l.Arn, true)
    if doc then l.CodeSize = doc.Content.CodeSize end
  end
end

-- The packages the layers use (for localstore.uses / collect).
function M.files(t)
  local files = {}
  for _, layer in pairs(t.layers or {}) do
    for _, doc in pairs(layer.versions) do if doc.file then files[doc.file] = true end end
  end
  return files
end

-- The directory to mount at /opt for cfg (nil without layers): a single layer's
-- unpacked package, or run/opt-<hash>/ with every layer unpacked in order into it.
-- Returns the path, or nil and why.
function M.opt_dir(t, cfg)
  local files = {}
  for _, l in ipairs(cfg.Layers or {}) do
    local doc = find(t, l.Arn, true)
    if not doc then return nil, "layer version " .. tostring(l.Arn) .. " no longer exists" end
    files[#files + 1] = doc.file
  end
  if #files == 0 then return nil end
  if #files == 1 then return t.exec:unpack(files[1], MAX_UNZIPPED) end
  local dir = t.dir .. "/run/opt-" .. nhash.sha256(table.concat(files, ","))
  if sys.kind(dir) == "directory" then return dir end
  local tmp = dir .. ".tmp" .. nhash.hex(sys.random_bytes(4))
  for _, file in ipairs(files) do
    local done, xerr = archive.extract(t.dir .. "/code/" .. file .. ".zip", tmp, MAX_UNZIPPED)
    if not done then
      sys.remove_tree(tmp)
      return nil, xerr
    end
  end
  if not os.rename(tmp, dir) then sys.remove_tree(tmp) end -- another one won
  return dir
end

-- The merged /opt directories (run/opt-<hash>) no function's layers make any more.
function M.stale_opt_dirs(t)
  local keep = {}
  local function note(cfg)
    local files = {}
    for _, l in ipairs(cfg.Layers or {}) do
      local doc = find(t, l.Arn, true)
      if doc then files[#files + 1] = doc.file end
    end
    if #files > 1 then keep["opt-" .. nhash.sha256(table.concat(files, ","))] = true end
  end
  for _, fn in pairs(t.functions) do
    note(fn.latest)
    for _, cfg in pairs(fn.versions or {}) do note(cfg) end
  end
  local stale = {}
  for _, name in ipairs(sys.list(t.dir .. "/run") or {}) do
    if name:match("^opt%-%x+$") and not keep[name] then stale[#stale + 1] = name end
  end
  return stale
end

return M
