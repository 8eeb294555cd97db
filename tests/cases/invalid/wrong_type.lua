-- expect: publish: must be true or false, got string
local lambda = require "lambdaeng.lambda"
local base = require "base"
lambda.func("f", base.func { publish = "yes" }) -- error here
