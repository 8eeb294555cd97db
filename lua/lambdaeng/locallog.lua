-- An invocation's log on the local target, as CloudWatch shows it: what the runtime
-- printed, its last 64 KB kept (LogType=Tail answers the last 4 KB), framed by START,
-- END and REPORT lines.
--   append(buf, chunk)           -> chunk added to buf (a list), its start dropped past 128 KB
--   frame(inv, cfg, result)      -> the invocation's whole log: START, what it printed
--       (inv.prelude, what came before its event was delivered, then inv.log), END,
--       REPORT (result.duration, max_memory, init_duration)
--   TAIL                         -> the bytes of the log LogType=Tail answers
local M = {}

local LOG_KEEP = 64 * 1024 -- bytes of an invocation's output kept (Tail needs the last 4 KB)
M.TAIL = 4096

function M.append(buf, chunk)
  buf[#buf + 1] = chunk
  buf.size = (buf.size or 0) + #chunk
  if buf.size > LOG_KEEP * 2 then
    local s = table.concat(buf):sub(-LOG_KEEP)
    for i = #buf, 1, -1 do buf[i] = nil end
    buf[1], buf.size = s, #s
  end
end

function M.frame(inv, cfg, result)
  local out = table.concat(inv.prelude or {}) .. table.concat(inv.log)
  local duration = result.duration or 0
  local report = string.format("REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\t"
    .. "Max Memory Used: %d MB\t%s\n", inv.id, duration, math.ceil(duration), cfg.MemorySize or 128,
    result.max_memory or 0, result.init_duration and string.format("Init Duration: %.2f ms\t", result.init_duration) or "")
  return string.format("START RequestId: %s Version: %s\n", inv.id, cfg.Version) .. out
    .. string.format("END RequestId: %s\n", inv.id) .. report
end

return M
