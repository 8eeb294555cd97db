-- expect: log_type: Tail applies only to RequestResponse invocations (invocation_type is Event)
local lambda = require "lambdaeng.lambda"
lambda.action("a", { function_name = "fn", payload = "{}", invocation_type = "Event", log_type = "Tail" }) -- error here
