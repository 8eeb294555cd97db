-- Two instances of a module from ./lua_modules and one from LAMBDAENG_PATH
-- (run with LAMBDAENG_PATH=examples/modules/shared).
local role = var("role_arn", { default = "arn:aws:iam::123456789012:role/lambda-exec" })

local acme = require "acme.api"
local api = acme("api", { stage = "dev", role = role, memory = 256 })
local admin = acme("admin", { stage = "dev", role = role, prefix = "acme-admin" })

local audit = require("team.audit")("audit", { watch = api.name, role = role })

output("api_function", api.name)
output("admin_function", admin.name)
output("audit_function", audit.function_name)
