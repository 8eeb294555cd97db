-- expect: environment.variables.V: is not a valid variable name (a letter, then at least one letter, digit or _)
local lambda = require "lambdaeng.lambda"
local base = require "base"
lambda.func("f", base.func { environment = { variables = { V = "1" } } }) -- error here
