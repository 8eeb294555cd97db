-- expect: handler: is required when package_type is Zip
local lambda = require "lambdaeng.lambda"
local base = require "base"
lambda.func("f", base.func { handler = base.NONE }) -- error here
