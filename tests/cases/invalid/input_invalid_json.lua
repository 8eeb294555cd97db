-- expect: invocation.i: input: is not valid JSON
local lambda = require "lambdaeng.lambda"
lambda.invocation("i", { function_name = "fn", input = "{key1: value1}" }) -- error here
