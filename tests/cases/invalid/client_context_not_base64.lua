-- expect: client_context: must be base64-encoded (or a table, which lambdaeng encodes)
local lambda = require "lambdaeng.lambda"
lambda.action("a", { function_name = "fn", payload = "{}", client_context = '{"custom": 1}' }) -- error here
