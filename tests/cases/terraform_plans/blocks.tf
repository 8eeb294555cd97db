provider "aws" {
  region                      = "us-east-1"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  endpoints {
    lambda = "http://127.0.0.1:57687"
    iam    = "http://127.0.0.1:57687"
    sts    = "http://127.0.0.1:57687"
  }
}
variable "subnets" {
  type    = list(string)
  default = ["subnet-a", "subnet-b", "subnet-c"]
}
variable "sgs" {
  type    = list(string)
  default = ["sg-1", "sg-2"]
}
variable "env" {
  type    = map(string)
  default = { MODE = "dev", LEVEL = "info" }
}
variable "tracing" {
  type    = string
  default = "PassThrough"
}
variable "storage" {
  type    = number
  default = 512
}
variable "origins" {
  type    = list(string)
  default = ["https://a.example"]
}
variable "desc" {
  type    = string
  default = "one"
}
resource "aws_lambda_function" "fx" {
  function_name = "fx"
  role          = "arn:aws:iam::123456789012:role/lambda-exec"
  runtime       = "python3.12"
  handler       = "index.handler"
  filename      = "fn.zip"
  description   = var.desc
  tags          = { team = "core", stage = "dev" }
  environment {
    variables = var.env
  }
  vpc_config {
    subnet_ids         = var.subnets
    security_group_ids = var.sgs
  }
  tracing_config {
    mode = var.tracing
  }
  ephemeral_storage {
    size = var.storage
  }
}
resource "aws_lambda_function_url" "u" {
  function_name      = aws_lambda_function.fx.function_name
  authorization_type = "NONE"
  cors {
    allow_origins = var.origins
    allow_methods = ["GET"]
  }
}
