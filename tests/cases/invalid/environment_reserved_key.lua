-- expect: environment.variables.AWS_REGION: is reserved by Lambda and cannot be set
local lambda = require "lambdaeng.lambda"
local base = require "base"
lambda.func("f", base.func { environment = { variables = { AWS_REGION = "eu-west-1" } } }) -- error here
