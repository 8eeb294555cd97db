-- expect: duplicate address func.f: declared at
-- expect: duplicate_address.lua:6
-- expect: and again at
local lambda = require "lambdaeng.lambda"
local base = require "base"
lambda.func("f", base.func {})
lambda.func("f", base.func { function_name = "other" }) -- error here
