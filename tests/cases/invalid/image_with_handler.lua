-- expect: handler: cannot be set when package_type is Image
local lambda = require "lambdaeng.lambda"
local base = require "base"
lambda.func("f", base.func { source = base.NONE, runtime = base.NONE, package_type = "Image", -- error here
  image_uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1" })
