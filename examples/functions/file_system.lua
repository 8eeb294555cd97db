-- Seed 004, "Lambda File Systems": an EFS access point mounted under /mnt, in a VPC.
local lambda = require "lambdaeng.lambda"

local role = var("role_arn", { default = "arn:aws:iam::123456789012:role/lambda-exec" })
local access_point = var("access_point_arn",
  { default = "arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0123456789abcdef0" })

lambda.func("example", {
  function_name = "file-system-example",
  runtime = "nodejs20.x",
  handler = "index.test",
  role = role,
  source = "code",
  file_system_config = { arn = access_point, local_mount_path = "/mnt/efs" },
  vpc_config = {
    subnet_ids = { "subnet-0123456789abcdef0" },
    security_group_ids = { "sg-0123456789abcdef0" },
  },
})
