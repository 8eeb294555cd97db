provider "aws" {
  region                      = "us-east-1"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  endpoints {
    lambda = "http://127.0.0.1:41053"
    iam    = "http://127.0.0.1:41053"
    sts    = "http://127.0.0.1:41053"
  }
}
variable "layers" {
  type    = list(string)
  default = ["a", "b", "c"]
}
variable "tags" {
  type    = map(string)
  default = { team = "core", stage = "dev", owner = "ops" }
}
variable "env" {
  type    = map(string)
  default = { MODE = "dev", LEVEL = "info" }
}
variable "trig" {
  type    = map(string)
  default = { rev = "1", other = "x" }
}
variable "arch" {
  type    = list(string)
  default = ["x86_64"]
}
variable "secret" {
  type      = string
  default   = "s1"
  sensitive = true
}
variable "extra_output" {
  type    = bool
  default = false
}
variable "gone_output" {
  type    = bool
  default = true
}
resource "aws_lambda_layer_version" "l" {
  for_each   = toset(["a", "b", "c", "d", "e"])
  layer_name = "layer-${each.key}"
  filename   = "fn.zip"
}
resource "aws_lambda_function" "echo" {
  function_name = "echo"
  role          = "arn:aws:iam::123456789012:role/lambda-exec"
  runtime       = "python3.12"
  handler       = "index.handler"
  filename      = "fn.zip"
  layers        = [for k in var.layers : aws_lambda_layer_version.l[k].arn]
  architectures = var.arch
  tags          = var.tags
  environment {
    variables = var.env
  }
}
resource "aws_lambda_invocation" "inv" {
  function_name = aws_lambda_function.echo.function_name
  input         = jsonencode({ a = 1 })
  triggers      = var.trig
}
output "token" {
  value     = var.secret
  sensitive = true
}
output "name" {
  value = aws_lambda_function.echo.function_name
}
output "added" {
  value = var.extra_output ? "new" : null
}
output "gone" {
  value = var.gone_output ? "old" : null
}
