-- expect: invocation.i: input: is required
local lambda = require "lambdaeng.lambda"
lambda.invocation("i", { function_name = "fn" }) -- error here
