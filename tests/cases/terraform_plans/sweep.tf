provider "aws" {
  region                      = "us-east-1"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  endpoints {
    lambda = "http://127.0.0.1:52805"
    iam    = "http://127.0.0.1:52805"
    sts    = "http://127.0.0.1:52805"
  }
}
variable "secret_env" {
  type      = map(string)
  default   = { TOKEN = "t1" }
  sensitive = true
}
variable "fname" {
  type    = string
  default = "sw"
}
variable "desc" {
  type    = string
  default = "one"
}
variable "alias_name" {
  type    = string
  default = "live"
}
variable "alias_desc" {
  type    = string
  default = "a1"
}
variable "auth" {
  type    = string
  default = "NONE"
}
variable "url_qualifier" {
  type    = string
  default = null
}
variable "retries" {
  type    = number
  default = 1
}
variable "eic_qualifier" {
  type    = string
  default = null
}
variable "sid" {
  type    = string
  default = "s1"
}
variable "principal" {
  type    = string
  default = "s3.amazonaws.com"
}
variable "layer_desc" {
  type    = string
  default = "l1"
}
variable "input" {
  type    = string
  default = "{\"n\":1}"
}
resource "aws_lambda_function" "fx" {
  function_name = var.fname
  role          = "arn:aws:iam::123456789012:role/lambda-exec"
  runtime       = "python3.12"
  handler       = "index.handler"
  filename      = "fn.zip"
  description   = var.desc
  publish       = true
  environment {
    variables = var.secret_env
  }
}
resource "aws_lambda_alias" "a" {
  name             = var.alias_name
  description      = var.alias_desc
  function_name    = aws_lambda_function.fx.function_name
  function_version = aws_lambda_function.fx.version
}
resource "aws_lambda_permission" "p" {
  statement_id  = var.sid
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.fx.function_name
  principal     = var.principal
}
resource "aws_lambda_function_url" "u" {
  function_name      = aws_lambda_function.fx.function_name
  qualifier          = var.url_qualifier
  authorization_type = var.auth
}
resource "aws_lambda_function_event_invoke_config" "e" {
  function_name          = aws_lambda_function.fx.function_name
  qualifier              = var.eic_qualifier
  maximum_retry_attempts = var.retries
}
resource "aws_lambda_layer_version" "l" {
  layer_name          = "lay"
  filename            = "layer.zip"
  description         = var.layer_desc
  compatible_runtimes = ["python3.12"]
}
resource "aws_lambda_invocation" "i" {
  function_name = aws_lambda_function.fx.function_name
  input         = var.input
}
