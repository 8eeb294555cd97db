-- What the kinds that hang off one function (and maybe a qualifier) share:
--
--   id_of(separator)(entry)   -> "NAME" or "NAME<separator>QUALIFIER" (the import ID), or nil
--   import_args(declared, read) -> read.args with the declared function_name (a name or an
--                                 ARN, as the stack wrote it) kept
local M = {}

function M.id_of(separator)
  return function(entry)
    local a = entry.args or {}
    if type(a.function_name) ~= "string" then return nil end
    return a.function_name .. (a.qualifier and (separator .. a.qualifier) or "")
  end
end

function M.import_args(declared, read)
  if type(declared.function_name) == "string" then read.args.function_name = declared.function_name end
  return read.args
end

return M
