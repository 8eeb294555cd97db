-- A state backend's object over engine/state.c's native state (st.native): the
-- metatable __index both backends (state/local.lua, state/s3.lua) give their
-- State. A name is the backend's own method first, else the native object's: a
-- native method is wrapped once per object and name (the wrapper passes the native
-- object in place of the backend's) and kept on the object, so that st:get(...)
-- in a loop over a thousand entries makes no closure per call.
--
--   delegate.index(own) -> function(self, name), for own's __index
--   (own: the backend's table of methods; st.native is set when the object is made
--   and never replaced)
local M = {}

function M.index(own)
  return function(self, name)
    local method = own[name]
    if method ~= nil then return method end
    local native = rawget(self, "native")
    method = native[name]
    if type(method) ~= "function" then return method end
    local function on_native(_, ...) return method(native, ...) end
    rawset(self, name, on_native)
    return on_native
  end
end

return M
