-- backend{ type = "s3", bucket, key, ... } in a stack (schema.backend): where its
-- state lives. Checked at once, every problem reported with the declaration's
-- file:line; declared at most once per stack.
--
--   declare(session, config, level) records session.backend_decl = { config, site, valid }
local site = require "lambdaeng.site"
local schema = require "lambdaeng.schema"
local validate = require "lambdaeng.validate"

local M = {}

function M.declare(self, config, level)
  level = level + 1
  local at = site.caller(level)
  if type(config) ~= "table" then error("backend{...} expects a table", level) end
  if self.backend_decl then
    error(string.format("backend is declared twice: at %s and here", self.backend_decl.site.display), level)
  end
  local before = #self.errors
  validate.check_fields(schema.backend.args, config, "", function(path, message)
    self:error(at, "backend", path, message)
  end, "backend setting")
  if config.type == "s3" then
    for _, k in ipairs { "bucket", "key" } do
      if config[k] == nil then self:error(at, "backend", k, "is required for an s3 backend") end
    end
    if config.kms_key_id ~= nil and config.encrypt ~= true then
      self:error(at, "backend", "kms_key_id", "needs encrypt = true")
    end
  elseif config.type == "local" then
    for _, k in ipairs { "bucket", "key", "region", "endpoint", "profile", "kms_key_id", "workspace_key_prefix" } do
      if config[k] ~= nil then self:error(at, "backend", k, "is an s3 backend setting (this backend is local)") end
    end
  end
  local copy = {}
  for k, v in pairs(config) do copy[k] = v end
  self.backend_decl = { config = copy, site = at, valid = #self.errors == before }
end

return M
