-- expect: filename: conflicts with source: exactly one of source, filename, image_uri or s3_bucket may be set
local lambda = require "lambdaeng.lambda"
local base = require "base"
lambda.func("f", base.func { filename = "code/index.py" }) -- error here
