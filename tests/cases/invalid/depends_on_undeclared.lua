-- expect: invocation.a depends on func.missing, which is not declared
local lambda = require "lambdaeng.lambda"
lambda.invocation("a", { function_name = "fn", input = "{}", depends_on = { "func.missing" } }) -- error here
