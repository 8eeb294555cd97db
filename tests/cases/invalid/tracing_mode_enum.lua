-- expect: tracing_config.mode: must be one of "PassThrough", "Active"; got "On"
local lambda = require "lambdaeng.lambda"
local base = require "base"
lambda.func("f", base.func { tracing_config = { mode = "On" } }) -- error here
