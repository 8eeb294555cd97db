-- A state backend's object over engine/state.c's native state (st.native): the
-- metatable __index both backends (state/local.lua, state/s3.lua) give their
-- State. A name is the backend's own method first, else the native object's: a
-- native method takes the backend's object in place of the native one (state.c's
-- check_state reads its field native), so it is kept on the object as it is, and
-- st:get(...) in a loop over a thousand entries is one C call, no Lua wrapper.
--
--   delegate.index(own) -> function(self, name), for own's __index
--   (own: the backend's table of methods; st.native is set when the object is made
--   and never replaced)
local M = {}

function M.index(own)
  return function(self, name)
    local method = own[name]
    if method ~= nil then return method end
    method = rawget(self, "native")[name]
    if type(method) == "function" then rawset(self, name, method) end
    return method
  end
end

return M
