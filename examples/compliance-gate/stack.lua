-- Seed 000, "Validation and Compliance Checks": an ephemeral invocation checks
-- the proposed configuration, and `fail` stops the run when it is not compliant.
local lambda = require "lambdaeng.lambda"
local json = require "lambdaeng.json"

local role = var("role_arn", { default = "arn:aws:iam::123456789012:role/lambda-exec" })
local memory_size = var("memory_size", { default = 512 })
local owner = var("owner", { default = "platform-team" })

local checker = lambda.func("checker", {
  function_name = "compliance-checker",
  runtime = "python3.12",
  handler = "index.handler",
  role = role,
  source = "../code/compliance",
})

local check = lambda.ephemeral_invocation("validation", {
  function_name = checker.function_name,
  payload = json.encode({ memory_size = memory_size, tags = { owner = owner } }),
})

-- Known only once the check has run; the gate fails the run with its violations.
local gate = json.decode(check.result):map(function(r)
  if r.compliant == false then
    fail("Compliance violations: " .. table.concat(r.violations or {}, ", "))
  end
  return "passed"
end)

lambda.func("app", {
  function_name = "compliant-app",
  runtime = "python3.12",
  handler = "index.handler",
  role = role,
  source = "../code/echo",
  memory_size = memory_size,
  tags = { owner = owner, ComplianceCheck = gate },
})
