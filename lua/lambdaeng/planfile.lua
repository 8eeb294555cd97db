-- Saved plans: `plan -out FILE` writes what the plan will do and what it was made
-- against; `run FILE` applies exactly that, or refuses when it has gone stale.
--
-- The file (JSON, mode 0600, written atomically through files.lua) holds: the
-- state's lineage and serial, the stack (absolute path, sha256 of its text), the
-- workspace, target and options (--target, --replace, --destroy, --no-refresh,
-- endpoint, region, profile, --state, --dir), every variable's value, the SHA-256 of each code
-- package the apply will upload, and the plan itself in canonical form: each
-- change's address, action and arguments as state stores them, the moves and the
-- output changes.
--
-- Secrets: Terraform's plan file holds sensitive values in clear; this one never
-- does. A sensitive variable, argument or output is kept only as the keyed digest
-- state keeps (HMAC-SHA256 under the state's own key, which lives beside the
-- state, never in the plan), and every other string is scrubbed of known secrets.
-- `run FILE` therefore evaluates the stack again with the plan's variables (a
-- sensitive one must be given again, --var or LAMBDAENG_VAR_, and must match its
-- digest), packages the code again, plans again against the state, and applies
-- only when that plan is the saved one, change for change (the code's SHA-256
-- included; an argument made from an ephemeral invocation's result is made again
-- at apply, as Terraform opens an ephemeral resource again). Anything else -- the state moved (another serial or lineage), the
-- stack, the code, a variable or the infrastructure changed -- is refused with
-- what differs; nothing is applied. The code is not stored in the file: its
-- digest pins it, and a checkout that still has it applies the plan.
--
--   write(path, result, session, info) -> true | nil, err   (info: state = st:info(),
--                                         digest, target, args, workspace)
--   is_planfile(path)                   -> whether path is a saved plan
--   prepare(args)                       -> doc | nil, err   (run FILE: args set from it)
--   check_state(doc, now)               -> true | nil, err  (now: the state's info as this run
--                                         opened it, before it scrubbed an older lambdaeng's
--                                         secrets in clear; the same lineage and serial)
--   check_plan(doc, result, session, digest, target) -> true | nil, err
local json = require "lambdaeng.json"
local ref = require "lambdaeng.ref"
local files = require "lambdaeng.files"
local secrets = require "lambdaeng.secrets"
local errors = require "lambdaeng.errors"
local hash = require "lambdaeng.native.hash"
local sys = require "lambdaeng.native.sys"
local site = require "lambdaeng.site"

local M = {}

local FORMAT = "lambdaeng-plan"
local VERSION = 1
local ARRAY_MT = getmetatable(json.array {})

-- A value as the file keeps it: unknowns named, sensitive parts as digests.
local function canonical(v, digest, depth)
  depth = depth or 0
  if v == ref.UNKNOWN then return { known_after_apply = true } end
  if v == ref.WITHHELD then return { withheld = true } end
  if ref.is_ref(v) then return { reference = true } end
  if type(v) == "table" and depth < 50 then
    local out = {}
    for k, x in pairs(v) do out[k] = canonical(x, digest, depth + 1) end
    return setmetatable(out, getmetatable(v) == ARRAY_MT and ARRAY_MT or nil) -- a list stays a JSON array
  end
  return secrets.scrub(v, digest)
end

local function sha256_hex(bytes) return hash.hex(hash.sha256_raw(bytes)) end

-- The code packages the apply will upload: source path (as the stack names it,
-- relative to the stack's directory when inside it) -> sha256, size.
local function packages(session)
  local out = {}
  for path, p in pairs(session.packages or {}) do
    local rel = path
    if session.dir and path:sub(1, #session.dir + 1) == session.dir .. "/" then rel = path:sub(#session.dir + 2) end
    out[rel] = { sha256 = p.hash, size = p.size }
  end
  return out
end

-- A resource's arguments as the file keeps them. One made from an ephemeral
-- invocation's result is made again at apply (as Terraform opens an ephemeral
-- resource again): the file says so instead of pinning a value that cannot recur.
local function after_of(p, session, digest)
  local after = canonical(p.stored or {}, digest)
  for k in pairs(p.decl and p.sensitive or {}) do
    for dep in pairs(ref.inspect(p.decl.args[k]).deps) do
      local d = session.by_addr[dep]
      if d and d.kind.kind == "ephemeral_invocation" then after[k] = { ephemeral = dep } end
    end
  end
  return after
end

-- The plan, change by change, in a form two plans can be compared in.
local function changes_of(result, session, digest)
  local out = {}
  for _, p in ipairs(result.changes) do
    out[#out + 1] = { address = p.address, action = p.action, moved_from = p.moved_from,
                      replace_because = p.replace_reason and json.array(p.replace_reason) or nil,
                      changed = p.changed and json.array(p.changed) or nil, -- against the (refreshed) state
                      after = after_of(p, session, digest) }
  end
  for _, m in ipairs(result.moves or {}) do
    local p = result.planned and result.planned[m.to]
    if not (p and (p.action == "update" or p.action == "replace")) then
      out[#out + 1] = { address = m.to, action = "move", moved_from = m.from }
    end
  end
  for _, p in ipairs(result.ephemeral or {}) do
    out[#out + 1] = { address = p.address, action = "read", during = p.ephemeral_result and "plan" or "apply" }
  end
  for _, p in ipairs(result.actions or {}) do out[#out + 1] = { address = p.address, action = "action" } end
  return out
end

local function outputs_of(result, digest)
  local out = {}
  for _, o in ipairs(result.outputs) do
    local value
    if o.action == "delete" then value = nil
    elseif o.sensitive then
      value = (ref.has_withheld(o.value) or require("lambdaeng.plan").has_unknown(o.value))
        and { known_after_apply = true } or { sensitive_digest = digest(o.value) }
    else
      value = canonical(o.value, digest)
    end
    out[#out + 1] = { name = o.name, action = o.action, sensitive = o.sensitive or false, value = value }
  end
  return out
end

-- Every variable's value; a sensitive one only as its digest.
local function variables(session, digest)
  local out = {}
  for name, v in pairs(session.vars) do
    if v.sensitive then out[name] = { sensitive_digest = digest(v.value) }
    else out[name] = { value = canonical(v.value, digest) } end
  end
  return out
end

-- The args a plan was made with that a saved plan keeps.
local function options_of(args)
  local replace = {}
  for addr in pairs(args.replace or {}) do replace[#replace + 1] = addr end
  table.sort(replace)
  return { target = json.array(args.target or {}), replace = json.array(replace), destroy = args.destroy or false,
           no_refresh = args.no_refresh or false, endpoint = args.endpoint, region = args.region,
           profile = args.profile, ["local"] = args["local"] or nil, aws = args.aws or nil,
           retarget = args.retarget or nil,
           -- paths as absolute, so that run FILE finds them from any directory
           state = args.state and site.absolute(args.state) or nil, dir = args.dir and site.absolute(args.dir) or nil }
end

function M.write(path, result, session, info)
  local digest = info.digest
  local text = sys.read_file(session.abs_path) or ""
  local doc = {
    format = FORMAT, format_version = VERSION, lambdaeng_version = sys.version,
    created = os.date("!%Y-%m-%dT%H:%M:%SZ"),
    stack = { path = session.abs_path, sha256 = sha256_hex(text) },
    workspace = info.workspace,
    state = { lineage = info.state.lineage, serial = info.state.serial, where = info.where },
    target = info.target,
    options = options_of(info.args),
    variables = variables(session, digest),
    packages = packages(session),
    changes = changes_of(result, session, digest),
    outputs = outputs_of(result, digest),
    summary = { add = result.add, change = result.change, destroy = result.destroy, moves = #(result.moves or {}) },
  }
  local bytes = json.encode_plain(doc)
  local ok, err = files.replace(path, bytes .. "\n")
  if not ok then return nil, errors.new("PlanFileError", "writing the plan to " .. path .. ": " .. tostring(err)) end
  return true
end

function M.is_planfile(path)
  if type(path) ~= "string" or sys.kind(path) ~= "file" then return false end
  local f = io.open(path, "rb")
  if not f then return false end
  local head = f:read(64) or ""
  f:close()
  return head:match("^%s*{") ~= nil and not path:match("%.lua$")
end

local function read(path)
  local text = sys.read_file(path)
  if not text then return nil, "cannot read the plan file " .. path end
  -- (decode_stack: a variable's integer past 2^53 comes back as it was saved, not rounded)
  local ok, doc = pcall(json.decode_stack, text)
  if not ok or type(doc) ~= "table" or doc.format ~= FORMAT then
    return nil, path .. " is not a plan file written by lambdaeng plan -out"
  end
  if doc.format_version ~= VERSION then
    return nil, string.format("%s is a plan file of format version %s; this lambdaeng reads version %d: make "
      .. "the plan again", path, tostring(doc.format_version), VERSION)
  end
  for _, k in ipairs { "stack", "state", "options", "variables", "packages", "changes", "outputs" } do
    if type(doc[k]) ~= "table" then return nil, path .. ": the plan file has no " .. k .. "; make the plan again" end
  end
  return doc
end

-- The command line of `run FILE`: what the plan fixes comes from the file; only a
-- sensitive variable (which the file keeps as a digest) may be given again.
function M.prepare(args)
  local path = args.stack
  local doc, err = read(path)
  if not doc then return nil, err end
  if #(args.target or {}) > 0 or next(args.replace or {}) or args.destroy then
    return nil, "run PLANFILE applies the saved plan as it is: --target, --replace and --destroy belong to the "
      .. "plan command"
  end
  local vars = {}
  for name, given in pairs(args.vars or {}) do
    local saved = doc.variables[name]
    if not (saved and saved.sensitive_digest) then
      return nil, string.format("run PLANFILE takes the variables the plan was made with; %q can be given again "
        .. "only if it is sensitive (the plan keeps it as a digest)", name)
    end
    vars[name] = given
  end
  for name, saved in pairs(doc.variables) do
    if not saved.sensitive_digest then vars[name] = { value = saved.value, file = path } end
  end
  doc.plan_path = path
  local o = doc.options
  args.plan_file, args.saved_plan = path, doc
  args.stack, args.vars, args.workspace = doc.stack.path, vars, doc.workspace
  args.target, args.no_refresh, args.retarget = o.target, o.no_refresh or nil, o.retarget
  args.replace = {}
  for _, addr in ipairs(o.replace or {}) do args.replace[addr] = true end
  for _, k in ipairs { "endpoint", "region", "profile", "local", "aws", "state", "dir" } do
    if args[k] == nil then args[k] = o[k] end
  end
  if o.destroy then args.command, args.destroy = "destroy", true end
  args.yes = true -- the plan was reviewed when it was made, as Terraform's apply PLANFILE
  return doc
end

function M.check_state(doc, now)
  local was = doc.state
  -- a state not written yet has serial 0 and a lineage of the moment: still none written is the same state
  local fresh = was.serial == 0 and now.serial == 0
  if not fresh and (now.lineage ~= was.lineage or now.serial ~= was.serial) then
    local made = was.serial == 0 and "before any state was written"
      or string.format("against serial %s of state lineage %s", tostring(was.serial), tostring(was.lineage))
    return nil, errors.new("StalePlan", string.format("the saved plan %s was made %s, but the state is now serial "
      .. "%s of lineage %s: it changed since (another run or a state command); nothing was applied. Make the plan "
      .. "again", doc.plan_path or "", made, tostring(now.serial), tostring(now.lineage)))
  end
  return true
end

-- The first differences between the saved changes and the ones planned now.
-- (read back as the saved plan is: decode_stack on both sides)
local function normal(x) return json.encode_plain(json.decode_stack(json.encode_plain(x))) end

local function differences(saved, now)
  local by_addr, lines = {}, {}
  for _, c in ipairs(now) do by_addr[c.action .. " " .. c.address] = normal(c) end
  local seen = {}
  for _, c in ipairs(saved) do
    local key = c.action .. " " .. c.address
    seen[key] = true
    if not by_addr[key] then lines[#lines + 1] = string.format("%s: the plan says %s, now it is not planned so",
        c.address, c.action)
    elseif by_addr[key] ~= json.encode_plain(c) then
      lines[#lines + 1] = c.address .. ": its planned arguments differ from the saved plan's"
    end
  end
  for _, c in ipairs(now) do
    if not seen[c.action .. " " .. c.address] then
      lines[#lines + 1] = string.format("%s: now planned to %s, which the saved plan does not say", c.address, c.action)
    end
  end
  return lines
end

-- Why the stack's inputs differ from the plan's: its text, its code, a sensitive variable.
local function input_differences(doc, session, digest)
  local lines = {}
  local text = sys.read_file(session.abs_path) or ""
  if sha256_hex(text) ~= doc.stack.sha256 then lines[#lines + 1] = session.path .. " changed since the plan was made" end
  local pk = packages(session)
  for src, p in pairs(doc.packages) do
    local now = pk[src]
    if now and now.sha256 ~= p.sha256 then
      lines[#lines + 1] = string.format("the code packaged from %s changed since the plan was made (SHA-256 %s, now %s)", src,
        p.sha256, now.sha256)
    end
  end
  for name, saved in pairs(doc.variables) do
    local v = session.vars[name]
    if saved.sensitive_digest and (not v or digest(v.value) ~= saved.sensitive_digest) then
      lines[#lines + 1] = string.format("the sensitive variable %q is not the value the plan was made with (give it "
        .. "again with --var or LAMBDAENG_VAR_%s)", name, name)
    end
  end
  table.sort(lines)
  return lines
end

function M.check_plan(doc, result, session, digest, target)
  local lines = input_differences(doc, session, digest)
  if doc.target and target and doc.target ~= target then
    lines[#lines + 1] = string.format("the plan was made for target %s; this run is against %s", doc.target, target)
  end
  local now = changes_of(result, session, digest)
  for _, l in ipairs(differences(doc.changes, now)) do lines[#lines + 1] = l end
  local saved_out, now_out = json.encode_plain(doc.outputs), normal(outputs_of(result, digest))
  if saved_out ~= now_out then lines[#lines + 1] = "the output changes differ from the saved plan's" end
  if #lines == 0 then return true end
  local shown = {}
  for i = 1, math.min(#lines, 8) do shown[i] = "  " .. lines[i] end
  return nil, errors.new("StalePlan", "the saved plan " .. (doc.plan_path or "") .. " is stale; nothing was applied. "
    .. "Make the plan again", { notes = { "What differs:\n" .. table.concat(shown, "\n") } })
end

return M
