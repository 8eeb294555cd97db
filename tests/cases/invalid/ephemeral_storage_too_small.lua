-- expect: ephemeral_storage.size: must be between 512 and 10240 (got 256)
local lambda = require "lambdaeng.lambda"
local base = require "base"
lambda.func("f", base.func { ephemeral_storage = { size = 256 } }) -- error here
