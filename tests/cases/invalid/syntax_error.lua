-- expect: unexpected symbol near '='
local lambda = require "lambdaeng.lambda"
local x = = 1 -- error here
