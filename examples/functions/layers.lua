-- Seed 004, "Lambda Layers": a layer version published from a directory (packaged at
-- plan time, like a function's source) and attached to a function (at most 5 layers).
-- The layer's nodejs/node_modules is on the function's module path (/opt/nodejs/node_modules).
local lambda = require "lambdaeng.lambda"

local role = var("role_arn", { default = "arn:aws:iam::123456789012:role/lambda-exec" })

local layer = lambda.layer_version("example", {
  layer_name = "shared-utils",
  source = "layer",
  compatible_runtimes = { "nodejs20.x" },
  description = "shared helpers",
})

lambda.func("example", {
  function_name = "layers-example",
  runtime = "nodejs20.x",
  handler = "index.test",
  role = role,
  source = "code",
  layers = { layer.arn },
})

output("layer_arn", layer.arn)
