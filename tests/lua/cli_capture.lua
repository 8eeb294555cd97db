-- What the dispatcher (cli/init.lua) writes on stderr and stdout while fn runs: a helper of
-- the cli_*_spec.lua files (each loads it with dofile from its own directory).
--   captured(fn) -> fn's first result, the text written on stderr, on stdout (help: io.write)
return function(fn)
  local saved_err, saved_out, saved_write = io.stderr, io.stdout, io.write
  local err, out = {}, {}
  local function sink(into) return { write = function(self, ...)
    for _, s in ipairs { ... } do into[#into + 1] = tostring(s) end
    return self
  end, flush = function(self) return self end } end
  io.stderr, io.stdout = sink(err), sink(out)
  io.write = function(...) return io.stdout:write(...) end
  local ok, result = pcall(fn)
  io.stderr, io.stdout, io.write = saved_err, saved_out, saved_write
  if not ok then error(result, 0) end
  return result, table.concat(err), table.concat(out)
end
