-- expect: func.f: needs exactly one code source: source, filename, image_uri or s3_bucket
local lambda = require "lambdaeng.lambda"
local base = require "base"
lambda.func("f", base.func { source = base.NONE }) -- error here
