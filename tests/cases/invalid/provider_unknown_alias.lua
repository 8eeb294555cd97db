-- expect: provider: unknown provider alias "eu"; did you mean "euw"?
local lambda = require "lambdaeng.lambda"
local base = require "base"
local euw = provider { region = "eu-west-1", alias = "euw" }
local a = base.func {}
a.provider = "eu"
lambda.func("f", a) -- error here
