-- expect: output.token: derives from a sensitive value; declare it with { sensitive = true }
local token = var("token", { default = "s3cr3t", sensitive = true })
output("token", token) -- error here
