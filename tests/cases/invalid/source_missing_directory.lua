-- expect: source: no such file or directory:
-- expect: does-not-exist
local lambda = require "lambdaeng.lambda"
local base = require "base"
lambda.func("f", base.func { source = "does-not-exist" }) -- error here
