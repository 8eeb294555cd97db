-- expect: invocation.i: lifecycle_scope: must be one of "CREATE_ONLY", "CRUD"; got "ALWAYS"
local lambda = require "lambdaeng.lambda"
lambda.invocation("i", { function_name = "fn", input = "{}", lifecycle_scope = "ALWAYS" }) -- error here
