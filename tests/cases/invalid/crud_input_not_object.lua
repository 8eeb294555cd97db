-- expect: input: must be a JSON object when lifecycle_scope = "CRUD"
local lambda = require "lambdaeng.lambda"
lambda.invocation("i", { function_name = "fn", input = "[1, 2, 3]", lifecycle_scope = "CRUD" }) -- error here
