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
variable "envs" {
  type      = list(map(string))
  default   = [{ TOKEN = "t1" }]
  sensitive = true
}
variable "desc" {
  type    = string
  default = "one"
}
resource "aws_lambda_function" "fs" {
  function_name = "fs"
  role          = "arn:aws:iam::123456789012:role/lambda-exec"
  runtime       = "python3.12"
  handler       = "index.handler"
  filename      = "fn.zip"
  description   = var.desc
  dynamic "environment" {
    for_each = var.envs
    content {
      variables = environment.value
    }
  }
}
