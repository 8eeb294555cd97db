-- completion bash|zsh|fish: a script that completes lambdaeng's command line in that
-- shell. The scripts are thin: on each Tab they run
--   lambdaeng completion --complete INDEX WORD0 WORD1 ...
-- (the words of the line, WORD0 the program, INDEX the one being completed), and this
-- module answers from lambdaeng's own sources of truth: the commands and options of
-- the argparse parser (cli/init.lua), the sub-commands and positionals each command's
-- "Usage:" lines name (ADDR, FUNCTION, STACK.lua ...), the addresses the stack
-- declares (the stack argument, else ./stack.lua) and holds in its state, and the
-- function names its state holds (the stack's code runs on Tab only for a stack you
-- have run a lambdaeng command on: trust.lua). The answer is a directive line, ":words" or
-- ":files" (the shell completes file names), then one candidate a line. Loading the
-- stack may print: the scripts read what follows the last directive line.
local schema = require "lambdaeng.schema"
local sys = require "lambdaeng.native.sys"
local workspace = require "lambdaeng.workspace"
local trust = require "lambdaeng.trust"
local common = require "lambdaeng.cli.common"

local M = {}

M.help = { completion = [[
Usage: lambdaeng completion bash|zsh|fish

Prints a script that completes lambdaeng's commands, options, the addresses of
the stack (the stack argument, else ./stack.lua) and the function names of its
state. Tab runs a stack's code (to learn what it declares) only once you have run
a lambdaeng command on that stack yourself (plan, run, validate, ...): until then
it completes from the stack's state file alone, so that Tab in a directory someone
else wrote runs nothing of theirs. Load it from your shell's start-up file:
  bash:  source <(lambdaeng completion bash)              (~/.bashrc)
  zsh:   source <(lambdaeng completion zsh)               (~/.zshrc, after compinit)
  fish:  lambdaeng completion fish | source               (~/.config/fish/config.fish)
]] }

function M.add_to_parser(parser)
  local cmd = common.command(parser, "completion")
  cmd:argument("shell"):args("?")
end

M.SCRIPTS = {
  bash = [=[
# lambdaeng completion for bash: source <(lambdaeng completion bash)
_lambdaeng_complete() {
  local line kind=words
  local -a found=()
  COMPREPLY=()
  while IFS= read -r line; do
    case "$line" in
      :words|:files) kind=${line#:}; found=() ;;
      *) found+=("$line") ;;
    esac
  done < <(command lambdaeng completion --complete "$COMP_CWORD" "${COMP_WORDS[@]}" 2>/dev/null)
  if [ "$kind" = files ]; then
    compopt -o default 2>/dev/null
    return 0
  fi
  COMPREPLY=("${found[@]}")
}
complete -F _lambdaeng_complete lambdaeng
]=],
  zsh = [=[
#compdef lambdaeng
# lambdaeng completion for zsh: source <(lambdaeng completion zsh), after compinit
_lambdaeng() {
  local line kind=words
  local -a found
  found=()
  for line in "${(@f)$(command lambdaeng completion --complete $((CURRENT - 1)) "${words[@]}" 2>/dev/null)}"; do
    case "$line" in
      :words|:files) kind=${line#:}; found=() ;;
      *) [[ -n "$line" ]] && found+=("$line") ;;
    esac
  done
  if [[ "$kind" == files ]]; then
    _files
    return
  fi
  compadd -Q -- "${found[@]}"
}
compdef _lambdaeng lambdaeng
]=],
  fish = [=[
# lambdaeng completion for fish: lambdaeng completion fish | source
function __lambdaeng_complete
    set -l words (commandline -opc) (commandline -ct)
    set -l found
    set -l kind words
    for line in (command lambdaeng completion --complete (math (count $words) - 1) $words 2>/dev/null)
        switch $line
            case :words :files
                set kind (string sub -s 2 -- $line)
                set found
            case '*'
                set -a found $line
        end
    end
    if test "$kind" = files
        __fish_complete_path (commandline -ct)
        return
    end
    printf '%s\n' $found
end
complete -c lambdaeng -f -a '(__lambdaeng_complete)'
]=],
}

-- The options of an argparse parser or command: { alias = takes a value }, and the
-- visible ones' aliases (argparse 0.7 keeps them in _options, _aliases, _maxargs).
local function options_of(p, out, visible)
  for _, o in ipairs(p._options or {}) do
    for _, alias in ipairs(o._aliases or {}) do
      out[alias] = (o._maxargs or 0) > 0
      if not o._hidden and alias:sub(1, 2) == "--" then visible[#visible + 1] = alias end
    end
  end
end

local function command_of(parser, name)
  for _, c in ipairs(parser._commands or {}) do if c._name == name then return c end end
end

-- From a command's help, its sub-commands and what each position takes:
-- "Usage: lambdaeng state show ADDR [STACK.lua]" gives sub "show" = { "ADDR", "STACK.lua" }.
local function usage_of(name, text)
  local subs, plain = {}, nil
  for line in (text or ""):gmatch("[^\n]+") do
    local rest = line:match("^%s*Usage: lambdaeng " .. name:gsub("%-", "%%-") .. "(.*)$")
      or line:match("^%s+lambdaeng " .. name:gsub("%-", "%%-") .. "(.*)$")
    if rest then
      local words = {}
      for w in rest:gmatch("%S+") do
        if w:sub(1, 2) ~= "[-" and w:sub(1, 1) ~= "-" then words[#words + 1] = (w:gsub("[%[%]%.]+$", ""):gsub("^%[", "")) end
      end
      local first = words[1]
      if first and first:match("^[%l][%l|-]*$") then
        for sub in first:gmatch("[^|]+") do subs[sub] = table.move(words, 2, #words, 1, {}) end
      elseif not plain then
        plain = words
      end
    end
  end
  return subs, plain or {}
end

-- What a positional placeholder completes to.
local function kind_of(placeholder)
  if not placeholder then return nil end
  if placeholder:find("STACK") or placeholder:find("%.lua") or placeholder == "FILE" or placeholder == "PATH" then
    return "files"
  end
  if placeholder:find("ADDR") or placeholder == "SRC" or placeholder == "DST" then return "addresses" end
  if placeholder:find("FUNCTION") then return "functions" end
  return nil
end

-- The stack's declared addresses and its state's addresses and function names. The
-- stack's code runs only for a stack this user has run a command on (trust.lua);
-- otherwise the addresses come from its local state file alone, which is data.
local function stack_facts(stack_path, args)
  local facts = { addresses = {}, functions = {} }
  if not stack_path or sys.kind(stack_path) ~= "file" then return facts end
  local ok = pcall(function()
    local ws = workspace.new { stack = stack_path, vars = {}, state = args.state,
                               dir = args.dir, completing = true }
    local st
    if trust.trusted(stack_path) then
      local session = ws:load()
      for _, decl in ipairs(session and session.decls or {}) do facts.addresses[decl.address] = true end
      st = ws:open_state()
    elseif ws.local_backend and sys.kind(ws.paths.state) == "file" then
      st = ws.local_backend:open()
    end
    for _, addr in ipairs(st and st:addresses() or {}) do
      facts.addresses[addr] = true
      local r = st:get(addr)
      local fname = r and ((r.attrs or {}).function_name or (r.args or {}).function_name)
      if type(fname) == "string" and (r.kind == "func" or addr:match("^func%.") or addr:match("/func%.")) then
        facts.functions[fname] = true
      end
    end
  end)
  if not ok then return facts end
  return facts
end

-- Walks the words before the current one: the command, the positionals, the
-- option waiting for a value, the stack named.
local function walk(parser, words, upto)
  local all, visible = {}, {}
  options_of(parser, all, visible)
  local command = words[1] and command_of(parser, words[1])
  if command then options_of(command, all, visible) end
  local state = { command = command and words[1], positionals = {}, options = all, visible = visible, values = {} }
  local i = 2
  while i < upto do
    local w = words[i]
    if w:sub(1, 1) == "-" and #w > 1 then
      local name = w:match("^(%-%-[^=]+)=") or w
      if all[name] and not w:find("=", 1, true) then
        local gap = words[i + 1] == "=" and 1 or 0 -- bash splits --target=ADDR at the "="
        if i + 1 + gap == upto then state.pending = name end
        state.values[name] = words[i + 1 + gap]
        i = i + 1 + gap
      end
    else
      state.positionals[#state.positionals + 1] = w
      if w:match("%.lua$") then state.stack = w end
    end
    i = i + 1
  end
  return state
end

local function sorted_matching(set, prefix)
  local out = {}
  for word in pairs(set) do if word:sub(1, #prefix) == prefix then out[#out + 1] = word end end
  table.sort(out)
  return out
end

-- The candidates for words[index] (words[1] the command's name: the program is dropped).
function M.candidates(words, index)
  local cli = require "lambdaeng.cli.init"
  local parser, _, help = cli.parser()
  local current = words[index] or ""
  if index == 1 then
    local set = {}
    for _, c in ipairs(parser._commands or {}) do if c._name ~= "lua" then set[c._name] = true end end
    set.help = true
    return "words", sorted_matching(set, current)
  end
  local option, value = current:match("^(%-%-[%w-]+)=(.*)$")
  if option then -- --target=ADDR as one word (zsh, fish): its values, the option before each
    local before = table.move(words, 1, index - 1, 1, {})
    before[index], before[index + 1] = option, value
    local kind, list = M.candidates(before, index + 1)
    for i, word in ipairs(list) do list[i] = option .. "=" .. word end
    return kind, list
  end
  local state = walk(parser, words, index)
  local fact_args = { state = state.values["--state"], dir = state.values["--dir"] }
  local stack_path = state.stack or (sys.kind("stack.lua") == "file" and "stack.lua" or nil)
  if state.pending then
    if state.pending == "--target" or state.pending == "--replace" then
      return "words", sorted_matching(stack_facts(stack_path, fact_args).addresses, current)
    end
    if state.pending == "--type" then return "words", sorted_matching(schema.PAYLOAD_LIMIT, current) end
    if state.pending == "--state" or state.pending == "--dir" or state.pending:find("file") then return "files", {} end
    return "words", {}
  end
  if current:sub(1, 1) == "-" then
    local set = {}
    for _, alias in ipairs(state.visible) do if alias ~= "--force-unlock-id" then set[alias] = true end end
    return "words", sorted_matching(set, current)
  end
  local subs, plain = usage_of(state.command or "", help[state.command or ""])
  local pos = state.positionals
  local layout = plain
  if next(subs) then
    if #pos == 0 then return "words", sorted_matching(subs, current) end
    layout = subs[pos[1]] or {}
    pos = table.move(pos, 2, #pos, 1, {})
  end
  local kind = kind_of(layout[#pos + 1])
  if kind == "files" then return "files", {} end
  if kind == "addresses" then
    return "words", sorted_matching(stack_facts(stack_path, fact_args).addresses, current)
  end
  if kind == "functions" then
    return "words", sorted_matching(stack_facts(stack_path, fact_args).functions, current)
  end
  return "words", {}
end

function M.command(args)
  local argv = args.argv or {}
  if argv[2] == "--complete" then
    local index = math.tointeger(tonumber(argv[3] or ""))
    if not index then return nil, "completion --complete INDEX WORD0 WORD1 ..." end
    local words = table.move(argv, 5, #argv, 1, {}) -- the program's name (WORD0) dropped
    local kind, list = M.candidates(words, index)
    io.write(":", kind, "\n")
    for _, word in ipairs(list) do io.write(word, "\n") end
    return true
  end
  local shell = args.shell or argv[2]
  if not M.SCRIPTS[shell or ""] then
    return nil, "lambdaeng completion needs a shell: lambdaeng completion bash|zsh|fish"
  end
  io.write(M.SCRIPTS[shell])
  return true
end

return M
