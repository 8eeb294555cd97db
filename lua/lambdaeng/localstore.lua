-- The local target's packages on disk: code/<sha256>.zip as uploaded and run/<sha256>/
-- unpacked (at once, bounded by AWS's quotas: 50 MB zipped, 250 MB unzipped, a zip
-- bomb refused while it inflates), collected when no function or version uses them
-- any more; and the private writes every file of the target goes through (0600,
-- whole or not at all). The functions are the Target's methods store_code(code),
-- store_checked(code, check), uses(file), collect() (self: the target, with dir,
-- functions, exec).
local nhash = require "lambdaeng.native.hash"
local sys = require "lambdaeng.native.sys"
local errors = require "lambdaeng.errors"

local files = require "lambdaeng.files"
local localapi = require "lambdaeng.localapi"

local M = {}

-- Writes path whole or not at all, readable by its owner alone (files.lua).
local write_private = files.replace
M.write_private = write_private

local MAX_ZIP, MAX_UNZIPPED = 50 * 1024 * 1024, 262144000 -- AWS's deployment package quotas

local function invalid(message) return errors.new("InvalidParameterValueException", message, { status = 400 }) end

-- Stores the code of a request (ZipFile, base64) and returns its sha, size; or nil
-- and an error { type, message, status } (the API's answer). The package is
-- unpacked at once (bounded: a zip bomb is refused while it inflates), so a bad
-- one fails here as on AWS, not at its first invocation.
function M.store_code(self, code)
  if type(code) ~= "table" then return nil, invalid("Code is required") end
  if code.ImageUri then return { image = code.ImageUri, sha = nhash.base64(nhash.sha256_raw(code.ImageUri)), size = 0 } end
  if code.S3Bucket then return nil, invalid("S3 code locations are not available on the local target; use ZipFile") end
  if type(code.ZipFile) ~= "string" then return nil, invalid("Code.ZipFile is required") end
  local bytes = nhash.base64decode(code.ZipFile)
  if not bytes then return nil, invalid("Code.ZipFile is not valid base64") end
  if #bytes > MAX_ZIP then
    return nil, errors.new("RequestEntityTooLargeException", string.format("Zipped size must be smaller than %d bytes",
      MAX_ZIP + 1), { status = 413 })
  end
  if bytes:sub(1, 2) ~= "PK" then return nil, invalid("Could not unzip uploaded file. Please check your file, then try to upload again.") end
  local sha = nhash.base64(nhash.sha256_raw(bytes))
  local file = nhash.sha256(bytes)
  if self.dir then
    sys.mkdirs(self.dir .. "/code")
    local name = self.dir .. "/code/" .. file .. ".zip"
    if sys.kind(name) ~= "file" then assert(write_private(name, bytes)) end
    local root, uerr, ucode = self.exec:unpack(file, MAX_UNZIPPED)
    if not root then
      if not M.uses(self, file) then os.remove(name) end
      if ucode == "EFBIG" then
        return nil, invalid(string.format("Unzipped size must be smaller than %d bytes", MAX_UNZIPPED + 1))
      end
      local why = ""
      if ucode == "EPERM" then
        why = tostring(uerr):find("through the link", 1, true) and " (an entry would be written through a link of the package)"
          or " (an entry would unpack outside the package)"
      end
      return nil, invalid("Could not unzip uploaded file. Please check your file, then try to upload again." .. why)
    end
  end
  return { sha = sha, size = #bytes, file = file }
end

-- Whether a function, version or layer version uses the package file (its sha256).
function M.uses(self, file)
  if require("lambdaeng.locallayers").files(self)[file] then return true end
  for _, fn in pairs(self.functions) do
    if fn.code and fn.code.file == file then return true end
    for _, f in pairs(fn.version_code or {}) do
      if f == file then return true end
    end
  end
  return false
end

-- store_code, then check(code) (the layers' limits): the stored code, or nil and the
-- API's answer (status, headers, body); refused code no function uses is collected.
function M.store_checked(self, code_input, check)
  local code, cerr = M.store_code(self, code_input)
  if not code then return nil, localapi.error_response(cerr.status, cerr.type, cerr.message) end
  local s, h, b = check(code)
  if not s then return code end
  if not M.uses(self, code.file) then M.collect(self) end
  return nil, s, h, b
end

-- Removes the packages (code/<sha>.zip, run/<sha>/) no function or version uses any
-- more: after a delete, the directory holds only what it still serves.
function M.collect(self)
  if not self.dir then return end
  local layers = require "lambdaeng.locallayers"
  local used = layers.files(self)
  for _, name in ipairs(layers.stale_opt_dirs(self)) do sys.remove_tree(self.dir .. "/run/" .. name) end
  for _, fn in pairs(self.functions) do
    if fn.code and fn.code.file then used[fn.code.file] = true end
    for _, file in pairs(fn.version_code or {}) do used[file] = true end
  end
  for _, name in ipairs(sys.list(self.dir .. "/code") or {}) do
    local sha = name:match("^(%x+)%.zip$")
    if sha and not used[sha] then os.remove(self.dir .. "/code/" .. name) end
  end
  for _, name in ipairs(sys.list(self.dir .. "/run") or {}) do
    local sha = name:match("^(%x+)$")
    if sha and #sha == 64 and not used[sha] then sys.remove_tree(self.dir .. "/run/" .. sha) end
  end
end


return M
