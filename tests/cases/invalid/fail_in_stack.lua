-- expect: compliance gate closed: owner tag missing
local tags = {}
if not tags.owner then fail("compliance gate closed: owner tag missing") end -- error here
