-- expect: function_name: is not a Lambda function ARN
local lambda = require "lambdaeng.lambda"
local base = require "base"
lambda.func("f", base.func { function_name = "arn:aws:s3:::bucket" }) -- error here
