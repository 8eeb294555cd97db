-- expect: dependency cycle between 3 resources
-- expect: invocation.a
-- expect: invocation.b
-- expect: invocation.c
local lambda = require "lambdaeng.lambda"
lambda.invocation("a", { function_name = "fn", input = "{}", depends_on = { "invocation.c" } }) -- error here
lambda.invocation("b", { function_name = "fn", input = "{}", depends_on = { "invocation.a" } })
lambda.invocation("c", { function_name = "fn", input = "{}", depends_on = { "invocation.b" } })
