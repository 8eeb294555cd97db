-- expect: lifecycle.ignore_changes[1]: unknown argument "tag"; did you mean "tags"?
local lambda = require "lambdaeng.lambda"
local base = require "base"
local a = base.func {}
a.lifecycle = { ignore_changes = { "tag" } }
lambda.func("f", a) -- error here
