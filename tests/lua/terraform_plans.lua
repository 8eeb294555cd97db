-- What the specs that compare lambdaeng's plan text with Terraform's share
-- (plan_text_forms_spec.lua, plan_text_blocks_spec.lua; loaded with dofile):
--   transcript(name)           -> tests/cases/terraform_plans/<name>.txt, Terraform's output
--   block(s, first, last[, previous]) -> the lines of s from the line matching first to the
--                                 first after it matching last (no last: to the first empty
--                                 line), label padding as one space ("~ layers      =" reads
--                                 "~ layers ="); previous: with the line before it when the
--                                 first line opens a block ("{" at its end)
--   new_dir(prefix)            -> a fresh directory under TMPDIR holding code.zip
--   write(dir, name, content)    writes a file there
local sys = require "lambdaeng.native.sys"
local hash = require "lambdaeng.native.hash"

local M = {}
local CASES = debug.getinfo(1, "S").source:match("^@(.*)/lua/[^/]*$") .. "/cases/terraform_plans/"

function M.write(dir, name, content)
  local f = assert(io.open(dir .. "/" .. name, "wb"))
  f:write(content)
  f:close()
end

function M.transcript(name)
  local f = assert(io.open(CASES .. name .. ".txt", "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function unpadded(line) return (line:gsub("^(%s*[~+-] [%w_]+) +=", "%1 =")) end

function M.block(s, first, last, previous)
  local out, before
  for line in (s .. "\n"):gmatch("([^\n]*)\n") do
    if out then
      if line == "" and not last then break end
      out[#out + 1] = unpadded(line)
      if last and line:find(last) then break end
    elseif line:find(first) then
      out = { unpadded(line) }
      if previous and line:find("{$") then table.insert(out, 1, before) end
    end
    before = line
  end
  assert(out, "no block starting with " .. first)
  return table.concat(out, "\n")
end

function M.new_dir(prefix)
  local dir = (os.getenv("TMPDIR") or "/tmp") .. "/" .. prefix .. hash.hex(sys.random_bytes(6))
  assert(sys.mkdirs(dir))
  M.write(dir, "code.zip", "PK\3\4 not really a zip")
  return dir
end

return M
