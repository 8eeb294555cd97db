-- expect: memory_size: must be between 128 and 10240 (got 64)
local lambda = require "lambdaeng.lambda"
local base = require "base"
lambda.func("f", base.func { memory_size = 64 }) -- error here
