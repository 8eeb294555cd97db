-- args: --var count=many
-- expect: variable "count" must be a number, got "many"
local count = var("count", { default = 1 }) -- error here
