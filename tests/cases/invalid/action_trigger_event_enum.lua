-- expect: lifecycle.action_trigger[1].events[1]: must be one of "before_create", "after_create", "before_update", "after_update"; got "on_delete"
local lambda = require "lambdaeng.lambda"
local act = lambda.action("a", { function_name = "fn", payload = "{}" })
lambda.invocation("i", { function_name = "fn", input = "{}", -- error here
  lifecycle = { action_trigger = { { events = { "on_delete" }, actions = { act } } } } })
