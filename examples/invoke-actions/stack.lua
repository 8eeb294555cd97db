-- Seed 002: imperative invoke actions, fired by another resource's lifecycle
-- events or alone with `lambdaeng run --invoke action.NAME`.
local lambda = require "lambdaeng.lambda"
local json = require "lambdaeng.json"

local role = var("role_arn", { default = "arn:aws:iam::123456789012:role/lambda-exec" })
local deployment_id = var("deployment_id", { default = "2026-11-23.1" })

local fn = lambda.func("processor", {
  function_name = "invoke-actions-processor",
  runtime = "python3.12",
  handler = "index.handler",
  role = role,
  source = "../code/logger",
})

-- Asynchronous: accepted with 202, runs in the background.
local notify = lambda.action("notify", {
  function_name = fn.function_name,
  payload = json.encode({ event = "deployment", id = deployment_id }),
  invocation_type = "Event",
})

-- Validates parameters and permissions only: 204, the function does not run.
local check = lambda.action("check", {
  function_name = fn.function_name,
  payload = json.encode({ check = true }),
  invocation_type = "DryRun",
})

-- Synchronous with the decoded log tail in the run's output.
local warmup = lambda.action("warmup", {
  function_name = fn.function_name,
  payload = { warm = true, id = deployment_id },
  log_type = "Tail",
  client_context = { client = { app = "lambdaeng" } },
})

lambda.invocation("deploy_complete", {
  function_name = fn.function_name,
  input = json.encode({ deployment = deployment_id }),
  triggers = { deployment = deployment_id },
  depends_on = { fn },
  lifecycle = { action_trigger = {
    { events = { "before_create", "before_update" }, actions = { check } },
    { events = { "after_create", "after_update" }, actions = { warmup, notify } },
  } },
})
