-- expect: variable "stage" has no value: pass --var stage=VALUE or set LAMBDAENG_VAR_stage
local stage = var("stage", { description = "deployment stage" }) -- error here
