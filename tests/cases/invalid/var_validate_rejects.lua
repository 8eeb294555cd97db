-- expect: variable "stage" is invalid: stage must be dev or prod
local stage = var("stage", { default = "test", validate = function(v) -- error here
  return v == "dev" or v == "prod", "stage must be dev or prod"
end })
