-- expect: ephemeral_storage.size: must be between 512 and 10240 (got 10241)
local lambda = require "lambdaeng.lambda"
local base = require "base"
lambda.func("f", base.func { ephemeral_storage = { size = 10241 } }) -- error here
