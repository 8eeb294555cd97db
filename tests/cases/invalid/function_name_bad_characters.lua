-- expect: function_name: "my function" may contain only letters, digits, hyphens and underscores
local lambda = require "lambdaeng.lambda"
local base = require "base"
lambda.func("f", base.func { function_name = "my function" }) -- error here
