-- expect: runtime: must be one of
-- expect: got "python3.1222"
-- expect: did you mean "python3.12"
local lambda = require "lambdaeng.lambda"
local base = require "base"
lambda.func("f", base.func { runtime = "python3.1222" }) -- error here
