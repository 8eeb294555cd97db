-- expect: func.f has no attribute "arnn"; did you mean "arn"?
local lambda = require "lambdaeng.lambda"
local base = require "base"
local fn = lambda.func("f", base.func {})
output("x", fn.arnn) -- error here
