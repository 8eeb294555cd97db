-- The REPL: a Lua 5.4 prompt with the stack's declarations and state loaded and
-- invoke() at hand. Line editing, history (~/.lambdaeng_history) and completion
-- come from libedit (lineedit.c); an incomplete chunk continues on the next
-- line, as in the `lua` interpreter; expression results are printed, tables
-- pretty-printed and references shown as known or unknown. Ctrl-C cancels the
-- invocation in flight or the line being typed; Ctrl-D leaves.
local lineedit = require "lambdaeng.native.lineedit"
local task = require "lambdaeng.task"
local hash = require "lambdaeng.native.hash"
local json = require "lambdaeng.json"
local ref = require "lambdaeng.ref"
local stack = require "lambdaeng.stack"
local validate = require "lambdaeng.validate"
local site = require "lambdaeng.site"
local printable = require("lambdaeng.aws.client").printable -- what the endpoint sends, safe to print
local lambda_api = require "lambdaeng.aws.lambda_api"
local lambda_stream = require "lambdaeng.aws.lambda_stream"

local M = {}

local JSON_ARRAY = getmetatable(json.array {}) -- an empty array of a decoded payload or response

local function is_identifier(k) return type(k) == "string" and k:match("^[%a_][%w_]*$") end

-- Pretty-prints a value: nested tables indented, keys sorted, references tagged, an
-- empty JSON array (json.array {}: a decoded [] kept as one) as [].
function M.show(v, indent, seen)
  indent = indent or ""
  seen = seen or {}
  if ref.is_ref(v) then
    local f = ref.fields(v)
    if f.sensitive then return "<reference " .. (f.label or "?") .. ": (sensitive)>" end
    if f.known then return "<reference " .. (f.label or "?") .. " = " .. M.show(f.value, indent, seen) .. ">" end
    return "<reference " .. (f.label or "?") .. ": (known after apply)>"
  end
  if stack.decl_of(v) then return "<" .. stack.decl_of(v).address .. ">" end
  if v == json.null then return "null" end
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) ~= "table" then return tostring(v) end
  if seen[v] then return "<cycle>" end
  seen[v] = true
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  if #keys == 0 then return getmetatable(v) == JSON_ARRAY and "[]" or "{}" end -- a JSON [] shows as one
  local n = #v
  table.sort(keys, function(a, b)
    if type(a) == type(b) and (type(a) == "number" or type(a) == "string") then return a < b end
    return type(a) < type(b)
  end)
  local inner = indent .. "  "
  local parts = {}
  for _, k in ipairs(keys) do
    local key
    if math.type(k) == "integer" and k >= 1 and k <= n then key = ""
    elseif is_identifier(k) then key = k .. " = "
    else key = "[" .. M.show(k, inner, seen) .. "] = " end
    parts[#parts + 1] = inner .. key .. M.show(v[k], inner, seen)
  end
  seen[v] = nil
  return "{\n" .. table.concat(parts, ",\n") .. "\n" .. indent .. "}"
end

local HELP = [[
lambdaeng REPL — Lua 5.4 with your stack loaded.
  invoke(fn, payload, opts)   invoke a function (a handle, an address like "func.hello", or a
                              function name); payload is a table or a JSON string; returns the
                              decoded result. Prints a function error's type and message and
                              the decoded log tail. opts: { qualifier=, type="Event"|"DryRun",
                              client_context=table or JSON string, raw=true (return the string),
                              timeout=seconds an attempt waits for the answer (default 960:
                              as long as a function may run, and a minute; no answer in
                              time after the request went out fails, not retried: the
                              function may have run) }
  invoke_many(list)           invocations in flight at once: { {fn, payload, opts}, ... };
                              returns the results in order
  invoke_stream(fn, payload, on_chunk, opts)
                              InvokeWithResponseStream: on_chunk(bytes) gets each chunk of
                              the streamed payload as it arrives (default: printed at once;
                              it runs on the loop: it must not wait); returns { status_code,
                              executed_version, content_type, chunks, bytes, error_code,
                              error_details }, printing a function error and the log tail
                              as invoke does. opts as invoke's (type="DryRun" too;
                              timeout bounds the whole stream)
  plan()                      the stack's plan against its state
  state()                     what the state holds
  functions()                 the stack's functions and their names in Lambda
  resources                   the stack's handles by address, e.g. resources["func.hello"]
  help()                      this text
Ctrl-C cancels an invocation in flight (or the line being typed); Ctrl-D leaves.]]

-- The REPL's state: r = { session, st, api, cfg, out, G (the prompt's globals) }.

local function function_name_of(r, target)
  local d = stack.decl_of(target)
  if type(target) == "string" and r.session and r.session.by_addr[target] then d = r.session.by_addr[target] end
  if d then
    if d.kind.kind ~= "func" then error(d.address .. " is not a function", 3) end
    local entry = r.st and r.st:get(d.address)
    local name = entry and entry.args and entry.args.function_name
    if not name then
      local v = ref.resolve(d.args.function_name)
      if v == ref.UNKNOWN then error(d.address .. ": its function name is not known yet", 3) end
      name = v
    end
    return name
  end
  if type(target) ~= "string" then error("invoke: expected a function handle, address or name", 3) end
  if r.session and stack.is_address(target) then
    error("invoke: no function " .. target .. " in the stack" .. validate.address_hint(target, r.session, "func"), 3)
  end
  return target
end

-- The client, made on first use when the context defers it (the local target).
local function need_api(r)
  if not r.api and r.connect then
    local api, cfg = r.connect()
    if not api then error(type(cfg) == "table" and (cfg.message or cfg.type) or tostring(cfg), 3) end
    r.api, r.cfg, r.connect = api, cfg, nil
  end
  if not r.api then
    error("no Lambda endpoint: start the REPL with AWS credentials, or --endpoint URL", 3)
  end
end

-- opts.timeout: seconds an attempt waits for the answer (a stream's whole answer), a
-- number above 0 (nil: the client's, 960 s for an invocation; LAMBDAENG_HTTP_TIMEOUT's).
local MAX_TIMEOUT = 86400
local function timeout_of(opts)
  local t = opts.timeout
  if t == nil then return nil end
  if type(t) ~= "number" or t ~= t or t <= 0 or t > MAX_TIMEOUT then
    error(string.format("invoke: opts.timeout must be a number of seconds above 0 and at most %d, not %s",
      MAX_TIMEOUT, type(t) == "string" and string.format("%q", t) or tostring(t)), 4)
  end
  return t
end

local function prepare(r, target, payload, opts)
  if opts ~= nil and type(opts) ~= "table" then error("invoke: opts must be a table, not a " .. type(opts), 3) end
  opts = opts or {}
  local timeout = timeout_of(opts)
  local name = function_name_of(r, target)
  if payload == nil then payload = "{}" end
  if type(payload) == "table" then payload = json.encode_plain(payload) end
  if type(payload) ~= "string" then error("invoke: payload must be a table or a JSON string", 3) end
  local ok, why = json.valid(payload)
  if not ok then error("invoke: the payload is not valid JSON: " .. why, 3) end
  -- the client context as the payload: a table's JSON, or a JSON string's bytes as written
  local context = opts.client_context
  if type(context) == "table" then context = json.encode_plain(context) end
  if context ~= nil then
    if type(context) ~= "string" then error("invoke: client_context must be a table or a JSON string", 3) end
    local cok, cwhy = json.valid(context)
    if not cok then error("invoke: client_context is not valid JSON: " .. cwhy, 3) end
    context = hash.base64(context)
  end
  local itype = opts.type or "RequestResponse"
  return name, { payload = payload, invocation_type = itype, client_context = context,
                 qualifier = opts.qualifier, log_type = itype == "RequestResponse" and "Tail" or nil,
                 timeout = timeout }, opts
end

local function report(repl, name, r, opts)
  -- (a script shows the log tail only when the function failed)
  if r.log_result and (repl.info == repl.out or r.function_error) then
    local log = lambda_api.log_tail(r)
    if log and #log > 0 then
      log = printable(log, 8192, true)
      repl.info:write("--- log tail of ", name, " ---\n", log, log:sub(-1) == "\n" and "" or "\n", "---\n")
    end
  end
  local value = r.payload
  local dok, decoded = pcall(json.decode_keeping_arrays, r.payload or "") -- may be sent on
  local etype, emsg = lambda_api.function_error(r)
  if etype then
    repl.info:write(printable(lambda_api.with_error_message(
      string.format("function error (%s): %s", r.function_error, etype), emsg)), "\n")
  end
  if r.status_code ~= 200 then repl.info:write(string.format("status %d\n", r.status_code)) end
  if opts.raw then return value end
  if dok then return decoded end
  return value
end

-- Runs fn on the loop with Ctrl-C cancelling what is in flight.
local function on_loop(fn)
  local results = table.pack(pcall(task.with_interrupt, fn, { every = true }))
  if results[1] and results[2] > 0 then error("interrupted: the invocation was cancelled", 0) end
  if not results[1] then error(results[2], 0) end
  return results[3], results[4]
end

-- The REPL's invoke_stream (HELP): each chunk to on_chunk as it arrives (lambda_stream.stream).
local function invoke_stream(r, target, payload, on_chunk, opts)
  need_api(r)
  if on_chunk ~= nil and type(on_chunk) ~= "function" then error("invoke_stream: on_chunk must be a function", 3) end
  local name, req = prepare(r, target, payload, opts)
  on_chunk = on_chunk or function(bytes) r.out:write(bytes) r.out:flush() end
  local got, complete = { chunks = 0, bytes = 0 }, {}
  local res, err = on_loop(function()
    return lambda_stream.stream(r.api, { FunctionName = name, Qualifier = req.qualifier, Payload = req.payload,
      InvocationType = req.invocation_type, LogType = req.log_type, ClientContext = req.client_context }, function(e)
      if e.PayloadChunk then
        got.chunks, got.bytes = got.chunks + 1, got.bytes + #e.PayloadChunk.Payload
        on_chunk(e.PayloadChunk.Payload)
      elseif e.InvokeComplete then complete = e.InvokeComplete end
    end, req.timeout)
  end)
  if not res then error(err.type .. ": " .. err.message, 0) end
  if complete.ErrorCode then -- reported as invoke reports a function error, with its log tail
    report(r, name, { status_code = res.StatusCode, function_error = "Unhandled", log_result = complete.LogResult,
      payload = json.encode_plain({ errorType = complete.ErrorCode, errorMessage = complete.ErrorDetails }) }, {})
  end
  return { status_code = res.StatusCode, executed_version = res.ExecutedVersion, chunks = got.chunks,
           content_type = res.ResponseStreamContentType, bytes = got.bytes, error_code = complete.ErrorCode,
           error_details = complete.ErrorDetails }
end

-- The globals of the prompt: Lua's (or the stack's), invoke and the helpers.
local function globals(r)
  -- the stack's own globals (what it declared) when one is loaded
  local G = setmetatable({}, { __index = r.session and r.session.env or _G })

  function G.invoke(target, payload, opts)
    need_api(r)
    local name, req, o2 = prepare(r, target, payload, opts)
    local res, err = on_loop(function() return r.api:invoke(name, req) end)
    if not res then error(err.type .. ": " .. err.message, 0) end
    return report(r, name, res, o2)
  end

  function G.invoke_many(list)
    need_api(r)
    if type(list) ~= "table" then error("invoke_many expects a list of { fn, payload, opts }", 2) end
    local prepared = {}
    for i, item in ipairs(list) do
      local name, req, o2 = prepare(r, item[1] or item.fn, item[2] or item.payload, item[3] or item.opts)
      prepared[i] = { name = name, req = req, opts = o2 }
    end
    local calls = {}
    for i, p in ipairs(prepared) do calls[i] = function() return r.api:invoke(p.name, p.req) end end
    local results = on_loop(function() return task.all(calls) end)
    local out_values = {}
    for i, p in ipairs(prepared) do
      local res, err = results[i][1], results[i][2]
      if res then out_values[i] = report(r, p.name, res, p.opts)
      else r.info:write(string.format("%s: %s: %s\n", p.name, err.type, err.message)) out_values[i] = json.null end
    end
    return out_values
  end

  function G.invoke_stream(target, payload, on_chunk, opts) return invoke_stream(r, target, payload, on_chunk, opts) end

  function G.help() r.out:write(HELP, "\n") end

  function G.plan()
    if not r.session then error("no stack loaded: start with lambdaeng repl STACK.lua", 2) end
    local plan = require "lambdaeng.plan"
    local result, err = plan.compute(r.session, r.st, {})
    if not result then error(err, 0) end
    r.out:write(require("lambdaeng.plan.text").render(result, r.session, { color = false }))
  end

  function G.state()
    if not r.st then error("no stack loaded", 2) end
    local list = {}
    for _, addr in ipairs(r.st:addresses()) do
      local e = r.st:get(addr)
      list[#list + 1] = { address = addr, kind = e.kind, function_name = e.args and e.args.function_name,
                          arn = e.attrs and e.attrs.arn }
    end
    return list
  end

  function G.functions()
    if not r.session then error("no stack loaded", 2) end
    local list = {}
    for _, d in ipairs(r.session.decls) do
      if d.kind.kind == "func" then
        local entry = r.st and r.st:get(d.address)
        local name = entry and entry.args.function_name or ref.resolve(d.args.function_name)
        list[#list + 1] = { address = d.address, function_name = name ~= ref.UNKNOWN and name or "(known after apply)",
                            deployed = entry ~= nil }
      end
    end
    return list
  end

  G.resources = {}
  if r.session then
    for _, d in ipairs(r.session.decls) do G.resources[d.address] = d.handle end
  end
  return G
end

-- Completion: globals, fields of a table path (a.b.c), the stack's addresses.
local function completer(r)
  return function(word, line)
    local results = {}
    local base, sep, partial = word:match("^(.-)([%.:])([%w_]*)$")
    local function add_keys(t, prefix, want)
      local seen = {}
      while type(t) == "table" and not seen[t] do
        seen[t] = true
        for k in pairs(t) do
          if type(k) == "string" and k:sub(1, #want) == want and is_identifier(k) then results[#results + 1] = prefix .. k end
        end
        local mt = getmetatable(t)
        t = mt and type(mt.__index) == "table" and mt.__index or nil
      end
    end
    if base and base ~= "" then
      local t = r.G
      for part in base:gmatch("[^%.:]+") do
        if type(t) ~= "table" then t = nil break end
        t = t[part]
      end
      add_keys(t, base .. sep, partial)
    else
      add_keys(r.G, "", word)
      for _, kw in ipairs { "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "if", "in",
                            "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while" } do
        if kw:sub(1, #word) == word then results[#results + 1] = kw end
      end
    end
    -- inside a string: the stack's addresses and function names
    local quote = line:match("[\"']([^\"']*)$")
    if quote ~= nil and r.session then
      for _, d in ipairs(r.session.decls) do
        if d.address:sub(1, #word) == word then results[#results + 1] = d.address end
        local name = ref.resolve(d.args.function_name)
        if type(name) == "string" and name:sub(1, #word) == word then results[#results + 1] = name end
      end
    end
    table.sort(results)
    local uniq, last = {}, nil
    for _, x in ipairs(results) do if x ~= last then uniq[#uniq + 1] = x end last = x end
    return uniq
  end
end

-- The engine's own Lua files (site.engine_file): an error raised there is shown at
-- the user's line instead (the engine's position says nothing to the user).
local function engine_source(src) return src:sub(1, 1) == "@" and site.engine_file(src:sub(2)) end

-- An error's message, pointing at the user's input (source: "(repl)", "(-e)",
-- "(stdin)"): an engine file's position is dropped and the user's line put first
-- (first: the chunk's first line, when a tail call left no frame of it).
local function locate(e, source, first)
  if type(e) ~= "string" then return tostring(e) end
  local user
  for level = 2, 200 do
    local info = debug.getinfo(level, "Sl")
    if not info then break end
    if info.currentline > 0 then
      local at = info.short_src .. ":" .. info.currentline .. ": "
      if e:sub(1, #at) == at and engine_source(info.source) then e = e:sub(#at + 1) end
      if info.source == "=" .. source then user = at break end
    end
  end
  user = user or string.format("%s:%d: ", source, first or 1)
  if not e:match("^[^\n]-:%d+: ") then e = user .. e end
  return e
end

-- Runs one chunk and prints its results; nil and the error (at the user's line) when it fails.
local function evaluate(r, fn, source, first)
  local results = table.pack(xpcall(fn, function(e) return locate(e, source, first) end))
  if not results[1] then return nil, tostring(results[2]) end
  for i = 2, results.n do r.out:write(M.show(results[i]), "\n") end
  return true
end

-- Compiles a chunk as an expression (its value printed) or else as statements;
-- first: the line it starts on in its source, so errors name that line.
local function compile(r, chunk, source, first)
  local pad = string.rep("\n", (first or 1) - 1)
  local fn, err = load(pad .. "return " .. chunk, "=" .. source, "t", r.G)
  if not fn then fn, err = load(pad .. chunk, "=" .. source, "t", r.G) end
  return fn, err
end

-- Reads lines with read(prompt) until it returns nil (false: Ctrl-C, the chunk is
-- dropped) and runs each complete chunk; an incomplete one continues on the next
-- line, as in the `lua` interpreter. opts: source (the chunk name), numbered (a
-- script: errors name the line of the whole input, not of the chunk, and an input
-- ending inside a chunk is an error), on_chunk(chunk) (history),
-- on_error(err) -> true to go on. Returns false when a chunk failed and stopped it.
local function read_eval(r, read, opts)
  local buffer, first, lineno = nil, 1, 0
  while true do
    r.out:flush()
    local line = read(buffer and ">> " or "lambdaeng> ")
    require("lambdaeng.native.loop").report_errors() -- a completion's error, after its line
    if line == nil then
      if buffer and opts.numbered then -- a script ended inside a chunk: say what is missing
        local _, err = compile(r, buffer, opts.source, opts.numbered and first or 1)
        if not opts.on_error(err) then return false end
      end
      return true
    end
    lineno = lineno + 1
    if line == false then
      r.out:write("^C\n")
      buffer = nil
    else
      if not buffer then first = lineno end
      local chunk = buffer and (buffer .. "\n" .. line) or line
      local fn, err = compile(r, chunk, opts.source, opts.numbered and first or 1)
      if not fn and err and err:match("<eof>$") then
        buffer = chunk -- incomplete: continue on the next line
      else
        buffer = nil
        if opts.on_chunk and chunk:match("%S") then opts.on_chunk(chunk) end
        local ok = fn ~= nil
        if fn then ok, err = evaluate(r, fn, opts.source, opts.numbered and first or 1) end
        if not ok and not opts.on_error(err) then return false end
      end
    end
  end
end

-- The prompt on a terminal: line editing, history, completion; an error is
-- printed and the session goes on.
local function interactive(r, ctx)
  lineedit.set_completer(completer(r))
  local history = (os.getenv("HOME") or ".") .. "/.lambdaeng_history"
  lineedit.read_history(history)
  r.out:write(string.format("lambdaeng %s REPL (%s)%s — help() for help, Ctrl-D to leave\n",
    require("lambdaeng.native.sys").version, _VERSION,
    r.session and (", stack " .. r.session.path .. " loaded") or ""))
  if r.cfg or ctx.target then r.out:write("target: ", ctx.target or r.cfg.endpoint, "\n") end
  read_eval(r, lineedit.readline, { source = "(repl)", on_chunk = function(chunk)
    lineedit.add_history(chunk)
    lineedit.write_history(history)
  end, on_error = function(err) r.out:write("error: ", err, "\n") return true end })
  r.out:write("\n") -- Ctrl-D leaves the shell's prompt on a line of its own
  lineedit.write_history(history)
  return true
end

-- For scripts and CI: the chunks of -e (each one whole), else the lines of standard
-- input; no banner, no prompt; logs and function errors on stderr; the first error
-- stops it (nil, err: the command's status is 1).
local function scripted(r, chunks)
  r.info = io.stderr
  local failure
  local function on_error(err) failure = err return false end
  if chunks and #chunks > 0 then
    for _, chunk in ipairs(chunks) do
      local fn, err = compile(r, chunk, "(-e)", 1)
      local ok = fn ~= nil
      if fn then ok, err = evaluate(r, fn, "(-e)") end
      if not ok then return nil, err end
    end
    return true
  end
  read_eval(r, function() return io.stdin:read("l") end, { source = "(stdin)", numbered = true, on_error = on_error })
  if failure then return nil, failure end
  return true
end

-- ctx: { session, state, api, cfg, target, connect } (the command line's, cli/repl.lua; connect() -> api,
-- cfg | nil, err: the client made on first use, when api is not given);
-- opts.chunks: the -e chunks; opts.interactive: standard input is a terminal.
function M.run(ctx, opts)
  local r = { session = ctx.session, st = ctx.state, api = ctx.api, cfg = ctx.cfg, connect = ctx.connect,
              out = io.stdout }
  r.info = r.out
  r.G = globals(r)
  if opts.interactive and not (opts.chunks and #opts.chunks > 0) then return interactive(r, ctx) end
  return scripted(r, opts.chunks)
end

return M
