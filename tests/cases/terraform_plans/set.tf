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
variable "rt" {
  type    = list(string)
  default = ["python3.11", "python3.12", "python3.13"]
}
resource "aws_lambda_layer_version" "s" {
  layer_name          = "set-layer"
  filename            = "fn.zip"
  compatible_runtimes = var.rt
}
