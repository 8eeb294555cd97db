-- expect: function_name: must not include a qualifier for a function resource
local lambda = require "lambdaeng.lambda"
local base = require "base"
lambda.func("f", base.func { function_name = "arn:aws:lambda:us-east-1:123456789012:function:app:PROD" }) -- error here
