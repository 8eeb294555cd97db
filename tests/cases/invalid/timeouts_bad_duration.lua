-- expect: timeouts.create: must be a duration such as "30s", "10m" or "1h"; got "ten minutes"
local lambda = require "lambdaeng.lambda"
local base = require "base"
local a = base.func {}
a.timeouts = { create = "ten minutes" }
lambda.func("f", a) -- error here
