-- expect: ephemeral_storage.size: is required
local lambda = require "lambdaeng.lambda"
local base = require "base"
lambda.func("f", base.func { ephemeral_storage = {} }) -- error here
