-- identical(a, b, path): raises, naming the path, unless a and b are equal values with equal
-- metatables all the way down (a number also of the same subtype). For the specs that compare
-- a C reader's values with its Lua reference (func_read, func_answer), loaded with dofile.
local function identical(a, b, path)
  if type(a) ~= "table" or type(b) ~= "table" then
    if a ~= b or math.type(a) ~= math.type(b) then
      error(path .. ": " .. tostring(a) .. " ~= " .. tostring(b), 0)
    end
    return
  end
  if getmetatable(a) ~= getmetatable(b) then error(path .. ": the metatables differ", 0) end
  for k, v in pairs(a) do identical(v, b[k], path .. "." .. tostring(k)) end
  for k, v in pairs(b) do if a[k] == nil then identical(nil, v, path .. "." .. tostring(k)) end end
end

return identical
