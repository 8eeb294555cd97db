-- expect: timeout: must be between 1 and 900 (got 901)
local lambda = require "lambdaeng.lambda"
local base = require "base"
lambda.func("f", base.func { timeout = 901 }) -- error here
