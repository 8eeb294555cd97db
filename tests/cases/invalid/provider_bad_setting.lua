-- expect: provider: regoin: unknown provider setting "regoin"; did you mean "region"?
provider { regoin = "us-east-1" } -- error here
