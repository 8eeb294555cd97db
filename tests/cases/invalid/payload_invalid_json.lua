-- expect: action.a: payload: is not valid JSON
local lambda = require "lambdaeng.lambda"
lambda.action("a", { function_name = "fn", payload = "not json" }) -- error here
