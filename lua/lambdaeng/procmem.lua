-- The memory a local function's processes used, read from /proc (Linux), for the
-- REPORT line's "Max Memory Used". Contract: max_memory_mb(pid) -> whole MB, 0 when
-- pid is nil or gone; at most 64 processes are read.
local M = {}

-- The peak resident memory of pid and what it started (the runtime runs below
-- bubblewrap's processes), in MB: the largest VmHWM among them.
function M.max_memory_mb(pid)
  local peak, seen = 0, 0
  local function visit(p)
    seen = seen + 1
    if seen > 64 then return end
    local f = io.open("/proc/" .. p .. "/status", "r")
    if not f then return end
    local kb = tonumber(f:read("a"):match("VmHWM:%s*(%d+)") or "0")
    f:close()
    if kb > peak then peak = kb end
    local c = io.open("/proc/" .. p .. "/task/" .. p .. "/children", "r")
    if not c then return end
    local children = c:read("a")
    c:close()
    for child in children:gmatch("%d+") do visit(child) end
  end
  if pid then visit(pid) end
  return math.ceil(peak / 1024)
end

return M
