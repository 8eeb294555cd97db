-- How long one operation on a resource may take, as Terraform's `timeouts` block
-- says: the declaration's timeouts.<which> (a duration such as "10m"), else the
-- kind's default (the `timeouts` of its table in schema.lua, the one place the
-- defaults are written).
--
--   deadline.seconds(kind, decl, which)      -> seconds (decl nil: an entry only in state)
--   deadline.bounded(ctx, kind, decl, which) -> ctx.api whose calls and waits end by then
local loop = require "lambdaeng.native.loop"
local validate = require "lambdaeng.validate"

local M = {}

function M.seconds(kind, decl, which)
  local t = decl and type(decl.meta.timeouts) == "table" and decl.meta.timeouts[which]
  return validate.duration_seconds(t or kind.timeouts[which])
end

function M.bounded(ctx, kind, decl, which)
  return ctx.api:until_deadline(loop.now() + M.seconds(kind, decl, which), which)
end

return M
