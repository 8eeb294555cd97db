-- expect: input: already has the key "tf" that CRUD adds; choose another terraform_key
local lambda = require "lambdaeng.lambda"
lambda.invocation("i", { function_name = "fn", input = '{"tf": 1}', lifecycle_scope = "CRUD" }) -- error here
