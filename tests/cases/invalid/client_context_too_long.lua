-- expect: action.a: client_context: is 3584 bytes base64-encoded; the limit is 3583 bytes
local lambda = require "lambdaeng.lambda"
lambda.action("a", { function_name = "fn", payload = "{}", client_context = string.rep("QUFB", 896) }) -- error here
