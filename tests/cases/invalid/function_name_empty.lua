-- expect: invocation.i: function_name: must be 1 to 64 characters (got 0)
local lambda = require "lambdaeng.lambda"
lambda.invocation("i", { function_name = "", input = "{}" }) -- error here
