-- expect: unknown argument "memroy_size"; did you mean "memory_size"?
local lambda = require "lambdaeng.lambda"
local base = require "base"
lambda.func("f", base.func { memroy_size = 256 }) -- error here
