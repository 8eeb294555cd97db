-- expect: s3_key: is required when s3_bucket is set
local lambda = require "lambdaeng.lambda"
local base = require "base"
lambda.func("f", base.func { source = base.NONE, s3_bucket = "my-bucket" }) -- error here
