-- expect: ephemeral.e: client_context: is 
-- expect: the limit is 3583 bytes
local lambda = require "lambdaeng.lambda"
lambda.ephemeral_invocation("e", { function_name = "fn", payload = "{}", -- error here
  client_context = { custom = { blob = string.rep("x", 2700) } } })
