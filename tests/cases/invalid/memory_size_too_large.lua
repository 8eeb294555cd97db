-- expect: memory_size: must be between 128 and 10240 (got 10241)
local lambda = require "lambdaeng.lambda"
local base = require "base"
lambda.func("f", base.func { memory_size = 10241 }) -- error here
