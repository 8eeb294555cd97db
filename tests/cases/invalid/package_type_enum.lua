-- expect: package_type: must be one of "Zip", "Image"; got "Jar"
local lambda = require "lambdaeng.lambda"
local base = require "base"
lambda.func("f", base.func { package_type = "Jar" }) -- error here
