-- expect: lifecycle.action_trigger[1].actions[1]: must be an action declared with lambda.action
local lambda = require "lambdaeng.lambda"
local other = lambda.invocation("other", { function_name = "fn", input = "{}" })
lambda.invocation("i", { function_name = "fn", input = "{}", -- error here
  lifecycle = { action_trigger = { { events = { "after_create" }, actions = { other } } } } })
