-- The project's size rules for its Lua half: no file over 500 lines, no function
-- over 80. Run by the binary: lambdaeng lua tests/lua/sizes.lua DIR... ; prints
-- every file and function past its limit, and returns 1 when there is one.
local sys = require "lambdaeng.native.sys"

local MAX_FILE, MAX_FUNCTION = 500, 80

-- The Lua files below dir.
local function lua_files(dir, out)
  for _, name in ipairs(sys.list(dir) or {}) do
    local path = dir .. "/" .. name
    local kind = sys.kind(path)
    if kind == "directory" then lua_files(path, out)
    elseif kind == "file" and name:match("%.lua$") then out[#out + 1] = path end
  end
  return out
end

-- The words of Lua source with their lines; strings and comments are skipped.
local function words(text)
  local out, i, line, n = {}, 1, 1, #text
  local function skip_long(from)
    local eq = text:match("^%[(=*)%[", from)
    if not eq then return nil end
    local close = "]" .. eq .. "]"
    local stop = text:find(close, from, true) or n
    local _, newlines = text:sub(from, stop):gsub("\n", "")
    line = line + newlines
    return stop + #close
  end
  while i <= n do
    local c = text:sub(i, i)
    if c == "\n" then line, i = line + 1, i + 1
    elseif text:sub(i, i + 1) == "--" then
      i = skip_long(i + 2) or ((text:find("\n", i, true) or n + 1))
    elseif c == "[" and text:match("^%[=*%[", i) then i = skip_long(i)
    elseif c == '"' or c == "'" then
      local j = i + 1
      while j <= n and text:sub(j, j) ~= c do j = j + (text:sub(j, j) == "\\" and 2 or 1) end
      i = j + 1
    elseif c:match("[%a_]") then
      local w = text:match("^[%w_]+", i)
      out[#out + 1] = { w, line, text:match("^[%w_.:]+", i + #w + 1) }
      i = i + #w
    else i = i + 1 end
  end
  return out
end

-- Every function of a file longer than the limit: { name-ish, first line, lines }.
local function long_functions(text)
  local stack, long, loops = {}, {}, 0
  local ws = words(text)
  for _, w in ipairs(ws) do
    local word, line = w[1], w[2]
    if word == "function" then
      stack[#stack + 1] = { "function", line, w[3] or "(anonymous)" }
    elseif word == "if" or word == "repeat" then stack[#stack + 1] = { word, line }
    elseif word == "for" or word == "while" then stack[#stack + 1] = { word, line } loops = loops + 1
    elseif word == "do" then
      if loops > 0 then loops = loops - 1 else stack[#stack + 1] = { "do", line } end
    elseif word == "end" or word == "until" then
      local top = table.remove(stack)
      if top and top[1] == "function" and line - top[2] + 1 > MAX_FUNCTION then
        long[#long + 1] = { top[3], top[2], line - top[2] + 1 }
      end
    end
  end
  return long
end

local problems = 0
for _, dir in ipairs(arg) do
  for _, path in ipairs(lua_files(dir, {})) do
    local f = assert(io.open(path, "rb"))
    local text = f:read("a")
    f:close()
    local _, lines = text:gsub("\n", "")
    if lines > MAX_FILE then
      problems = problems + 1
      print(string.format("%s: %d lines (at most %d)", path, lines, MAX_FILE))
    end
    for _, fn in ipairs(long_functions(text)) do
      problems = problems + 1
      print(string.format("%s:%d: function %s is %d lines (at most %d)", path, fn[2], fn[1], fn[3], MAX_FUNCTION))
    end
  end
end
print(problems == 0 and "sizes: every file and function within its limit" or
  string.format("sizes: %d over the limits", problems))
return problems == 0 and 0 or 1
