-- The arguments of every resource kind, taken argument by argument from the
-- reference documents (../shared/seeds): type, default, enum, range, size, and
-- whether a change replaces the resource. validate.lua checks declarations
-- against these tables; plan.lua uses `replace` and `computed`.
local M = {}

local function t(kind, o) o = o or {}; o.type = kind; return o end
local function str(o) return t("string", o) end
local function int(o) return t("integer", o) end
local function bool(o) return t("boolean", o) end
local function list(elem, o) o = o or {}; o.type = "list"; o.elem = elem; return o end
local function map(elem, o) o = o or {}; o.type = "map"; o.elem = elem; return o end
local function block(fields, o) o = o or {}; o.type = "block"; o.fields = fields; return o end
-- A JSON document: a string holding JSON, or a Lua table lambdaeng encodes canonically.
local function json(o) return t("json", o) end

M.str, M.int, M.bool, M.list, M.map, M.block = str, int, bool, list, map, block

-- Lambda's runtime identifiers (CreateFunction's Runtime enum), current and deprecated.
M.RUNTIMES = {
  "nodejs", "nodejs4.3", "nodejs4.3-edge", "nodejs6.10", "nodejs8.10", "nodejs10.x", "nodejs12.x",
  "nodejs14.x", "nodejs16.x", "nodejs18.x", "nodejs20.x", "nodejs22.x", "nodejs24.x",
  "python2.7", "python3.6", "python3.7", "python3.8", "python3.9", "python3.10", "python3.11",
  "python3.12", "python3.13", "python3.14",
  "java8", "java8.al2", "java11", "java17", "java21", "java25",
  "dotnetcore1.0", "dotnetcore2.0", "dotnetcore2.1", "dotnetcore3.1", "dotnet6", "dotnet8", "dotnet10",
  "go1.x", "ruby2.5", "ruby2.7", "ruby3.2", "ruby3.3", "ruby3.4",
  "provided", "provided.al2", "provided.al2023",
}

-- Invoke payload limits: 6 MB synchronous; 1 MB for Event (raised from 256 KB in October 2025).
M.PAYLOAD_LIMIT = { RequestResponse = 6 * 1024 * 1024, DryRun = 6 * 1024 * 1024, Event = 1024 * 1024 }
M.CLIENT_CONTEXT_LIMIT = 3583

-- A duration such as "10m", "30s", "1h30m".
local duration = str { duration = true }
local timeouts = block { create = duration, update = duration, delete = duration }

-- Meta-arguments every resource accepts (SPEC 2).
M.meta = {
  depends_on = list(t("any")),
  lifecycle = block {
    prevent_destroy = bool { default = false },
    ignore_changes = list(str()),
    create_before_destroy = bool { default = false },
    action_trigger = list(block {
      events = list(str { enum = { "before_create", "after_create", "before_update", "after_update" } },
                    { required = true, min = 1 }),
      actions = list(t("action"), { required = true, min = 1 }),
    }),
  },
  timeouts = timeouts,
  provider = t("provider"),
}

M.func = {
  kind = "func",
  prefix = "func",
  reference = "aws_lambda_function (seed 004)",
  args = {
    function_name = str { required = true, replace = true, function_name = "func" },
    role = str { required = true, arn = true },
    -- Optional + Computed: Lambda's default is x86_64, and leaving it out keeps what the function has
    architectures = list(str { enum = { "x86_64", "arm64" } }, { min = 1, max = 1, computed = true }),
    code_signing_config_arn = str { arn = true },
    dead_letter_config = block { target_arn = str { required = true, arn = true } },
    description = str { max = 256 },
    environment = block { variables = map(str(), { min = 1 }) },
    ephemeral_storage = block { size = int { required = true, min = 512, max = 10240 } },
    file_system_config = block {
      arn = str { required = true, arn = true },
      local_mount_path = str { required = true, pattern = "^/mnt/[%w%.%-_/]+$",
                               pattern_text = "a path under /mnt/ (e.g. /mnt/efs)", max = 160 },
    },
    filename = str { path = true },
    source = str { path = true },
    handler = str { max = 128 },
    image_config = block { command = list(str()), entry_point = list(str()), working_directory = str() },
    image_uri = str(),
    kms_key_arn = str { arn = true },
    layers = list(str { arn = true }, { max = 5 }),
    memory_size = int { min = 128, max = 10240, default = 128 },
    package_type = str { enum = { "Zip", "Image" }, default = "Zip", replace = true },
    publish = bool { default = false },
    reserved_concurrent_executions = int { min = -1, default = -1 },
    replace_security_groups_on_destroy = bool { deprecated = "AWS no longer supports this operation; it has no effect" },
    replacement_security_group_ids = list(str(), { deprecated = "AWS no longer supports this operation; it has no effect" }),
    runtime = str { enum = M.RUNTIMES },
    s3_bucket = str { min = 3, max = 63 },
    s3_key = str { min = 1, max = 1024 },
    s3_object_version = str { min = 1, max = 1024 },
    skip_destroy = bool { default = false },
    source_code_hash = str(),
    snap_start = block { apply_on = str { required = true, enum = { "PublishedVersions" } } },
    tags = map(str { max = 256 }),
    timeout = int { min = 1, max = 900, default = 3 },
    tracing_config = block { mode = str { required = true, enum = { "PassThrough", "Active" } } },
    vpc_config = block {
      ipv6_allowed_for_dual_stack = bool { default = false },
      -- sets in the provider: their order is no change, and the plan shows them as sets
      security_group_ids = list(str(), { required = true, max = 5, set = true }),
      subnet_ids = list(str(), { required = true, max = 16, set = true }),
    },
  },
  -- Attributes Lambda computes, unknown until the function exists.
  computed = { "arn", "invoke_arn", "qualified_arn", "qualified_invoke_arn", "version", "last_modified",
               "source_code_size", "code_sha256", "state", "signing_job_arn",
               "signing_profile_version_arn", "tags_all" },
  -- Computed fields inside argument blocks (seed 004: vpc_config.vpc_id, snap_start.optimization_status).
  nested_computed = { vpc_config = { vpc_id = true }, snap_start = { optimization_status = true } },
  -- tags_all holds the tags: sensitive when they are (secret_attrs.lua).
  sensitive_from_args = { tags_all = "tags" },
  timeouts = { create = "10m", update = "10m", delete = "10m" },
}

M.invocation = {
  kind = "invocation",
  prefix = "invocation",
  reference = "aws_lambda_invocation (seeds 001, 003)",
  args = {
    function_name = str { required = true, replace = true, function_name = "invoke" },
    input = json { required = true, limit = M.PAYLOAD_LIMIT.RequestResponse },
    lifecycle_scope = str { enum = { "CREATE_ONLY", "CRUD" }, default = "CREATE_ONLY" },
    qualifier = str { default = "$LATEST", replace = true, max = 128 },
    terraform_key = str { default = "tf", min = 1 },
    triggers = map(str(), { replace = true }),
  },
  computed = { "result" },
  -- The function may return what it was given: with a sensitive argument, its
  -- result is sensitive too (stored as a keyed digest, shown as (sensitive)).
  sensitive_from_args = { result = true },
  timeouts = { create = "5m", update = "5m", delete = "5m" },
}

M.ephemeral_invocation = {
  kind = "ephemeral_invocation",
  prefix = "ephemeral",
  reference = "ephemeral aws_lambda_invocation (seed 000)",
  args = {
    function_name = str { required = true, function_name = "invoke" },
    payload = json { required = true }, -- size checked by the kind's rule
    client_context = t("client_context"),
    log_type = str { enum = { "None", "Tail" }, default = "None" },
    qualifier = str { default = "$LATEST", max = 128 },
    region = str(),
  },
  computed = { "result", "function_error", "log_result", "status_code", "executed_version" },
  sensitive = true,
  meta = { depends_on = true, provider = true, timeouts = true },
}

M.action = {
  kind = "action",
  prefix = "action",
  reference = "aws_lambda_invoke action (seed 002)",
  args = {
    function_name = str { required = true, function_name = "invoke" },
    payload = json { required = true },
    invocation_type = str { enum = { "RequestResponse", "Event", "DryRun" }, default = "RequestResponse" },
    log_type = str { enum = { "None", "Tail" }, default = "None" },
    client_context = t("client_context"),
    qualifier = str { default = "$LATEST", max = 128 },
  },
  computed = { "status_code", "result", "function_error", "log_result", "executed_version" },
  meta = { depends_on = true, provider = true, timeouts = true },
}

-- aws_lambda_layer_version: a published layer version is immutable, so every
-- argument but skip_destroy replaces it (PublishLayerVersion again).
M.layer_version = {
  kind = "layer_version",
  prefix = "layer_version",
  reference = "aws_lambda_layer_version",
  args = {
    layer_name = str { required = true, replace = true, min = 1, max = 140,
                       pattern = "^[%w_%-]+$", pattern_text = "1 to 140 letters, digits, - and _" },
    source = str { path = true, replace = true },
    filename = str { path = true, replace = true },
    s3_bucket = str { min = 3, max = 63, replace = true },
    s3_key = str { min = 1, max = 1024, replace = true },
    s3_object_version = str { min = 1, max = 1024, replace = true },
    source_code_hash = str { replace = true },
    compatible_architectures = list(str { enum = { "x86_64", "arm64" } }, { max = 2, replace = true, set = true }),
    compatible_runtimes = list(str { enum = M.RUNTIMES }, { max = 15, replace = true, set = true }),
    description = str { max = 256, replace = true },
    license_info = str { max = 512, replace = true },
    skip_destroy = bool { default = false },
  },
  computed = { "arn", "layer_arn", "version", "created_date", "code_sha256", "source_code_size",
               "signing_job_arn", "signing_profile_version_arn" },
  timeouts = { create = "10m", delete = "10m" },
}

-- aws_lambda_alias: a name for a function version, optionally routing a share of
-- invocations to a second version.
M.alias = {
  kind = "alias",
  prefix = "alias",
  reference = "aws_lambda_alias",
  args = {
    name = str { required = true, replace = true, min = 1, max = 128, pattern = "^[%w_%-]+$",
                 pattern_text = "letters, digits, - and _" },
    function_name = str { required = true, replace = true, function_name = "func" },
    function_version = str { required = true, min = 1, max = 1024, pattern = "^[%w_%-%$]+$",
                             pattern_text = "a version number or $LATEST" },
    description = str { max = 256 },
    routing_config = block { additional_version_weights = map(t("number", { min = 0, max = 1 }), { max = 1 }) },
  },
  computed = { "arn", "invoke_arn" },
  -- UpdateAlias keeps the alias's ARN: an in-place update plans arn and invoke_arn as they
  -- are, as Terraform 1.11 does (tests/cases/terraform_plans/sweep_updates.txt).
  update_keeps = true,
  timeouts = { create = "5m", update = "15m", delete = "5m" },
}

-- aws_lambda_permission: one statement of a function's policy; a statement cannot be
-- edited, so every argument replaces it.
M.permission = {
  kind = "permission",
  prefix = "permission",
  reference = "aws_lambda_permission",
  args = {
    action = str { required = true, replace = true, pattern = "^lambda:[%a*]+$", alt = "*",
                   pattern_text = "an action such as \"lambda:InvokeFunction\"" },
    function_name = str { required = true, replace = true, function_name = "invoke" },
    principal = str { required = true, replace = true, pattern = "^[^%s]+$", pattern_text = "a principal without spaces" },
    event_source_token = str { replace = true, min = 1, max = 256, pattern = "^[%w%._%-]+$",
                               pattern_text = "letters, digits, ., _ and -" },
    function_url_auth_type = str { replace = true, enum = { "NONE", "AWS_IAM" } },
    principal_org_id = str { replace = true, pattern = "^o%-[a-z0-9]+$", min = 12, max = 34,
                             pattern_text = "an organization id such as o-a1b2c3d4e5" },
    qualifier = str { replace = true, min = 1, max = 128, pattern = "^[%w_%-%$]+$",
                      pattern_text = "a version number, an alias name or $LATEST" },
    source_account = str { replace = true, pattern = "^%d%d%d%d%d%d%d%d%d%d%d%d$", pattern_text = "a 12-digit account id" },
    source_arn = str { replace = true, arn = true },
    statement_id = str { replace = true, computed = true, min = 1, max = 100, pattern = "^[%w%-_%.]+$",
                         pattern_text = "letters, digits, -, _ and ." },
    statement_id_prefix = str { replace = true, min = 1, max = 74, pattern = "^[%w%-_%.]+$",
                                pattern_text = "letters, digits, -, _ and ." },
  },
  computed = { "id" },
  timeouts = { create = "5m", delete = "5m" },
}

-- aws_lambda_function_url: an HTTPS endpoint of a function ($LATEST or an alias).
M.function_url = {
  kind = "function_url",
  prefix = "function_url",
  reference = "aws_lambda_function_url",
  args = {
    function_name = str { required = true, replace = true, function_name = "invoke" },
    authorization_type = str { required = true, enum = { "NONE", "AWS_IAM" } },
    qualifier = str { replace = true, min = 1, max = 128, pattern = "^[%w_%-%$]+$",
                      pattern_text = "an alias name or $LATEST" },
    invoke_mode = str { enum = { "BUFFERED", "RESPONSE_STREAM" }, default = "BUFFERED" },
    cors = block {
      allow_credentials = bool(),
      allow_headers = list(str { max = 1024 }, { max = 100, set = true }),
      allow_methods = list(str { max = 6 }, { max = 6, set = true }),
      allow_origins = list(str { max = 253 }, { max = 100, set = true }),
      expose_headers = list(str { max = 1024 }, { max = 100, set = true }),
      max_age = int { min = 0, max = 86400 },
    },
  },
  computed = { "function_arn", "function_url", "url_id" },
  -- UpdateFunctionUrlConfig keeps the URL, its id and the function's ARN: an in-place
  -- update plans them as they are (Terraform 1.11: tests/cases/terraform_plans/cors.txt).
  update_keeps = true,
  timeouts = { create = "10m", update = "10m", delete = "10m" },
}

-- aws_lambda_function_event_invoke_config: retries and destinations of asynchronous
-- invocations of a function or one of its qualifiers.
M.event_invoke_config = {
  kind = "event_invoke_config",
  prefix = "event_invoke_config",
  reference = "aws_lambda_function_event_invoke_config",
  args = {
    function_name = str { required = true, replace = true, function_name = "invoke" },
    qualifier = str { replace = true, min = 1, max = 128, pattern = "^[%w_%-%$]+$",
                      pattern_text = "a version number, an alias name or $LATEST" },
    maximum_event_age_in_seconds = int { min = 60, max = 21600 },
    maximum_retry_attempts = int { min = 0, max = 2, default = 2 },
    destination_config = block {
      on_failure = block { destination = str { required = true, arn = true } },
      on_success = block { destination = str { required = true, arn = true } },
    },
  },
  computed = { "id" },
  update_keeps = true, -- (the id is NAME[:QUALIFIER]: an update keeps it, as Terraform plans it)
  timeouts = { create = "5m", update = "5m", delete = "5m" },
}

M.provider = {
  args = {
    region = str { pattern = "^[a-z][a-z]%-[a-z%-]+%-%d+$", pattern_text = "a region such as us-east-1" },
    profile = str(),
    endpoint = str { pattern = "^https?://", pattern_text = "an http:// or https:// URL" },
    default_tags = map(str()),
    max_retries = int { min = 0, max = 20 },
    alias = str { pattern = "^[%a_][%w_%-]*$", pattern_text = "a name of letters, digits, _ and -" },
    pacing = t("any"),
    max_connections = int { min = 1, max = 10000 },
  },
}

-- Where the state lives (SPEC 7b): local files (the default) or an S3 object.
M.backend = {
  args = {
    type = str { required = true, enum = { "local", "s3" } },
    bucket = str { pattern = "^[a-z0-9][a-z0-9.%-]+[a-z0-9]$", pattern_text = "an S3 bucket name" },
    key = str { pattern = "^[^/].*[^/]$", pattern_text = "an object key not starting or ending with /" },
    region = str { pattern = "^[a-z][a-z]%-[a-z%-]+%-%d+$", pattern_text = "a region such as us-east-1" },
    endpoint = str { pattern = "^https?://", pattern_text = "an http:// or https:// URL" },
    profile = str(),
    encrypt = bool { default = false },
    kms_key_id = str(),
    workspace_key_prefix = str { pattern = "^[^/].*[^/]$", pattern_text = "a key prefix not starting or ending with /" },
  },
}

M.var = {
  args = {
    default = t("any"),
    description = str(),
    sensitive = bool { default = false },
    validate = t("function"),
    type = str { enum = { "string", "number", "bool", "json" } },
  },
}

M.output = { args = { sensitive = bool { default = false }, description = str() } }

M.kinds = { func = M.func, invocation = M.invocation, ephemeral_invocation = M.ephemeral_invocation,
            action = M.action, layer_version = M.layer_version, alias = M.alias,
            permission = M.permission, function_url = M.function_url,
            event_invoke_config = M.event_invoke_config }

return M
