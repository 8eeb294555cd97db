-- `api OPERATION` given a JSON array of inputs: one call per item, run as a stream.
--
--   items(text) -> starts, ends, all_objects | false   where each item lies in the text
--     (engine/jsonitems.h; false: not an array of items this scanner takes, for the caller
--     to decode whole)
--   run(one, text, starts, ends, width[, raw_name]) -> first failure | nil
--     one(item, i) for every item (i: its index in starts), at most width at once
--     (task.stream), its results printed on stdout as one JSON array in the items'
--     order, each failure as { Error = { Type, Message } }; the first failure is
--     returned for the caller to report after the output. raw_name: a member of each
--     item whose value is not a JSON string is given as its text as written (as_written).
--   as_written(item, text, from, name) -> item, its member name (when there, and not a
--     string) replaced by the bytes the text has for it; item: the decoded object that
--     begins at byte from of text. `api Invoke`'s Payload is sent as the user wrote it, not
--     decoded and encoded again, which would change 1e400, -0.0, key order and spaces.
--   printed(result) -> its text: a string is a result's text already printed (api
--     Invoke's, written in C), anything else is printed by lambda_call.printed
--   printed_array(results) -> the array's text, as run prints it
--
-- The batch is neither decoded nor printed all at once: the items are decoded a chunk at
-- a time as the calls start (the first chunk small, so the first calls leave while the
-- rest are still text), and the results are written in chunks as soon as they and those
-- before them are there, so that the endpoint is not idle while the client reads 10,000
-- calls first or prints 10,000 results last. Chunks, not single items: one decode or
-- encode call per item cost ~3.5 k and ~2 k instructions more per item than one per
-- array (callgrind), per chunk of a few hundred that cost is gone. A chunk is decoded in C
-- (engine/jsondecode.h: decode_items, the raw member left as its text) as json.decode_keeping_arrays
-- and as_written would make it, or, where that declines, by those two.
local json = require "lambdaeng.json"
local native_json = require "lambdaeng.native.json"
local task = require "lambdaeng.task"
local loop = require "lambdaeng.native.loop"
local lambda_call = require "lambdaeng.aws.lambda_call"

local M = {}

M.items = native_json.array_items

local FIRST_CHUNK, MAX_CHUNK = 32, 1024 -- items decoded at once: the first few, then doubling
local OUT_CHUNK = 256 -- results written at once

local is_text, printed_value = lambda_call.is_text, lambda_call.printed

function M.printed(result)
  if type(result) == "string" then return result end
  return printed_value(result)
end

-- The results' texts joined by commas (an array's inside): answers that came as their
-- text joined as they are, else the array encoded in one call.
local function printed_items(results)
  for _, r in ipairs(results) do
    if type(r) == "string" or is_text(r) then
      local texts = {}
      for i, v in ipairs(results) do texts[i] = M.printed(v) end
      return table.concat(texts, ",")
    end
  end
  return json.encode_plain(json.array(results)):sub(2, -2)
end

function M.printed_array(results) return "[" .. printed_items(results) .. "]" end

local member_span, sub, byte, QUOTE = native_json.member_span, string.sub, string.byte, 34
function M.as_written(item, text, from, name)
  if item[name] ~= nil then
    local s, e = member_span(text, name, from)
    if s and byte(text, s) ~= QUOTE then item[name] = sub(text, s, e) end -- (no type(): W2's hot path)
  end
  return item
end

-- Items first..last, decoded by json.lua (decode_items declined them), each on its own: an
-- integer past 64 bits, which makes decode_keeping_arrays read its text with doubles, does
-- not take its neighbours' exact integers with it.
local function decoded_in_lua(text, starts, ends, first, last, raw_name)
  local part = {}
  for i = first, last do
    local item = json.decode_keeping_arrays(sub(text, starts[i], ends[i]))
    part[i - first + 1] = raw_name and M.as_written(item, text, starts[i], raw_name) or item
  end
  return part
end

-- item(i): the i-th item's value, decoded with a chunk of those after it; asked for in order.
local function chunked_items(text, starts, ends, raw_name)
  local n, decoded, decoded_to, chunk = #starts, {}, 0, FIRST_CHUNK
  local decode_items, null, array_mt = native_json.decode_items, json.null, native_json.array_mt
  return function(i)
    while i > decoded_to do
      local first, last = decoded_to + 1, math.min(n, decoded_to + chunk)
      local part = decode_items(text, null, array_mt, starts[first], ends[last], raw_name)
        or decoded_in_lua(text, starts, ends, first, last, raw_name)
      for k = 1, last - decoded_to do decoded[decoded_to + k] = part[k] end
      decoded_to, chunk = last, math.min(MAX_CHUNK, chunk * 2)
    end
    local v = decoded[i]
    decoded[i] = nil
    return v
  end
end

function M.run(one, text, starts, ends, width, raw_name)
  local item, out = chunked_items(text, starts, ends, raw_name), io.stdout
  local ready, written, first_err = {}, false, nil
  local function write_ready()
    if #ready == 0 then return end
    out:write(written and "," or "[", printed_items(ready))
    written, ready = true, {}
  end
  local function deliver(_, result, err)
    if not result then
      result = { Error = { Type = err.type, Message = err.message } }
      first_err = first_err or err
    end
    ready[#ready + 1] = result
    if #ready >= OUT_CHUNK then write_ready() end
  end
  loop.run(function() task.stream(#starts, function(i) return one(item(i), i) end, width, deliver) end)
  write_ready()
  out:write("]\n")
  out:flush()
  return first_err
end

return M
