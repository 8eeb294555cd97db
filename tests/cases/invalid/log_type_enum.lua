-- expect: log_type: must be one of "None", "Tail"; got "Full"
local lambda = require "lambdaeng.lambda"
lambda.ephemeral_invocation("e", { function_name = "fn", payload = "{}", log_type = "Full" }) -- error here
