-- expect: invocation_type: must be one of "RequestResponse", "Event", "DryRun"; got "Async"
local lambda = require "lambdaeng.lambda"
lambda.action("a", { function_name = "fn", payload = "{}", invocation_type = "Async" }) -- error here
