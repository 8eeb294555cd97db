-- expect: func.f: function_name: must be 1 to 64 characters (got 65)
local lambda = require "lambdaeng.lambda"
local base = require "base"
lambda.func("f", base.func { function_name = string.rep("a", 65) }) -- error here
