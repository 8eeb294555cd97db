-- expect: role: must be an ARN (arn:...); got "lambda-exec"
local lambda = require "lambdaeng.lambda"
local base = require "base"
lambda.func("f", base.func { role = "lambda-exec" }) -- error here
