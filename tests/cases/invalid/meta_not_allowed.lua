-- expect: action.a: lifecycle: is not a meta-argument of action
local lambda = require "lambdaeng.lambda"
lambda.action("a", { function_name = "fn", payload = "{}", lifecycle = { prevent_destroy = true } }) -- error here
