-- expect: file_system_config.local_mount_path: must be a path under /mnt/
local lambda = require "lambdaeng.lambda"
local base = require "base"
lambda.func("f", base.func { file_system_config = { -- error here
  arn = "arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-1", local_mount_path = "/data" } })
