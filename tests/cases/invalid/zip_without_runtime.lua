-- expect: runtime: is required when package_type is Zip
local lambda = require "lambdaeng.lambda"
local base = require "base"
lambda.func("f", base.func { runtime = base.NONE }) -- error here
