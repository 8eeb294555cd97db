-- whoami and version: where the credentials, region and endpoint come from; the version.
local json = require "lambdaeng.json"
local endpoint = require "lambdaeng.endpoint"
local awsconfig = require "lambdaeng.aws.config"
local sys = require "lambdaeng.native.sys"
local common = require "lambdaeng.cli.common"

local M = {}

M.help = {
  whoami = [[
Usage: lambdaeng whoami [--profile P] [--region R] [--endpoint URL] [--json] [--debug]

Resolves credentials, region and Lambda endpoint as every other command does
(fetching temporary credentials if the source gives them) and prints where each
came from: the source, the access key id, when the keys expire, the region, the
endpoint, and the CA bundle TLS peers are verified with (AWS_CA_BUNDLE or the
profile's ca_bundle: its path; none shown for the system's certificates). Secrets
are never printed. Exit status 1 when resolution fails.
]],
  version = [[
Usage: lambdaeng version

Prints the version of lambdaeng and of the Lua it embeds.
]],
}

function M.add_to_parser(parser)
  for name in pairs(M.help) do common.command(parser, name) end
end

local function whoami(args)
  if args["local"] or not (args.aws or awsconfig.present(args)) then
    return nil, "no AWS configuration was found, so commands use the embedded local target; "
      .. "pass --aws (or configure credentials) to resolve AWS credentials"
  end
  local cfg, err = endpoint.resolve_aws(args, nil)
  if not cfg then return nil, err end
  local d = awsconfig.describe(cfg)
  if args.json then print(json.encode_plain(d)) return true end
  for _, k in ipairs { "source", "profile", "access_key_id", "expiration", "account_id", "region", "endpoint",
                       "endpoint_source", "ca_bundle", "ca_bundle_source" } do
    if d[k] ~= nil then print(string.format("%-17s %s", k:gsub("_", " ") .. ":", tostring(d[k]))) end
  end
  return true
end

function M.command(args)
  if args.command == "whoami" then return whoami(args) end
  print("lambdaeng " .. sys.version .. " (" .. _VERSION .. ")")
  return true
end

return M
