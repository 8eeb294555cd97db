-- expect: memory_size: must be a whole number, got 256.5
local lambda = require "lambdaeng.lambda"
local base = require "base"
lambda.func("f", base.func { memory_size = 256.5 }) -- error here
