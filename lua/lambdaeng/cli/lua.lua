-- lua FILE [ARG...] (not in the help): runs a Lua file with the engine at hand, as
-- `lua FILE` does (arg, ...), for lambdaeng's own tests and tools. Its status is
-- what the file returns (an integer), 0 otherwise, 1 when it raised. Its words are
-- the file's, never options of lambdaeng's.
local M = {}

M.help = { lua = "Usage: lambdaeng lua FILE [ARG...]\n" }

function M.add_to_parser() end -- parsed here: everything after FILE belongs to the file

function M.command(args)
  local argv = args.argv
  local file = argv[2]
  if not file then return nil, "lambdaeng lua needs a file: lambdaeng lua FILE [ARG...]" end
  local chunk, err = loadfile(file, "t")
  if not chunk then return nil, err end
  _G.arg = table.move(argv, 2, #argv, 0, {})
  local results = table.pack(xpcall(chunk, debug.traceback, table.unpack(argv, 3)))
  if not results[1] then return nil, results[2] end
  return true, math.tointeger(results[2]) or 0
end

return M
