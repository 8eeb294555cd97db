-- expect: architectures[1]: must be one of "x86_64", "arm64"; got "arm"
local lambda = require "lambdaeng.lambda"
local base = require "base"
lambda.func("f", base.func { architectures = { "arm" } }) -- error here
