-- expect: attempt to perform arithmetic on a nil value
local lambda = require "lambdaeng.lambda"
local x = nil
local y = x + 1 -- error here
