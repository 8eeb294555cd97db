-- expect: payload: is 6291459 bytes; the limit for RequestResponse invocations is 6291456 bytes
local lambda = require "lambdaeng.lambda"
lambda.action("a", { function_name = "fn", payload = '"' .. string.rep("x", 6 * 1024 * 1024 + 1) .. '"' }) -- error here
