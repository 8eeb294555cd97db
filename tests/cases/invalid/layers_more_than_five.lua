-- expect: layers: must have at most 5 items (got 6)
local lambda = require "lambdaeng.lambda"
local base = require "base"
local layers = {}
for i = 1, 6 do layers[i] = "arn:aws:lambda:us-east-1:123456789012:layer:l" .. i .. ":1" end
lambda.func("f", base.func { layers = layers }) -- error here
