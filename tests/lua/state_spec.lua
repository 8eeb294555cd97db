-- The local state file (lambdaeng.native.state, engine/state.c): a save writes,
-- with a new serial, only when the document changed; a put of an equal value, a
-- remove of nothing or the same outputs again is no change and writes nothing.
local statelib = require "lambdaeng.native.state"
local sys = require "lambdaeng.native.sys"
local hash = require "lambdaeng.native.hash"
local json = require "lambdaeng.json"

local function temp_state()
  local dir = (os.getenv("TMPDIR") or "/tmp") .. "/lambdaeng-state-spec-" .. hash.hex(sys.random_bytes(6))
  sys.mkdirs(dir)
  return dir .. "/s.state.json"
end

local function serial_on_disk(path)
  local text = sys.read_file(path)
  return text and json.decode_plain(text).serial or nil
end

local ENTRY = { kind = "func", args = { function_name = "a", memory_size = 128 }, attrs = { arn = "x" } }

describe("state saves", function()
  it("write a new serial only when the document changed", function()
    local path = temp_state()
    local st = assert(statelib.open(path))
    assert(st:save())
    assert.equal(nil, serial_on_disk(path), "nothing put: no file written")
    st:put("func.a", ENTRY)
    assert(st:save())
    assert.equal(1, serial_on_disk(path))
    st:put("func.a", { kind = "func", args = { memory_size = 128, function_name = "a" }, attrs = { arn = "x" } })
    assert(st:save())
    assert.equal(1, serial_on_disk(path), "an equal entry put again is no change")
    assert.falsy(st:remove("func.none"))
    st:set_outputs({})
    assert(st:save())
    assert.equal(1, serial_on_disk(path), "removing nothing and the same (empty) outputs are no change")
    st:put("func.a", { kind = "func", args = { function_name = "a", memory_size = 256 }, attrs = { arn = "x" } })
    assert(st:save())
    assert.equal(2, serial_on_disk(path))
    st:set_outputs({ o = { value = 1 } })
    assert(st:save())
    assert.equal(3, serial_on_disk(path))
    assert.truthy(st:remove("func.a"))
    assert(st:save())
    assert.equal(4, serial_on_disk(path))
    assert(st:save())
    assert.equal(4, serial_on_disk(path))
  end)

  it("keep a reopened state's serial when nothing is put, and write once it changes", function()
    local path = temp_state()
    local st = assert(statelib.open(path))
    st:put("func.a", ENTRY)
    assert(st:save())
    local again = assert(statelib.open(path))
    again:put("func.a", ENTRY)
    assert(again:save())
    assert.equal(1, serial_on_disk(path))
    again:put("func.b", ENTRY)
    assert(again:save())
    assert.equal(2, serial_on_disk(path))
  end)

  it("write the document json_dumps gives, byte for byte, from entry texts kept across puts", function()
    local path = temp_state()
    local st = assert(statelib.open(path))
    local function check(what)
      assert(st:save())
      assert.equal(st:document(), sys.read_file(path), what)
    end
    local entries = {
      ["func.a"] = ENTRY,
      ["func.b/x"] = { kind = "func", args = { function_name = "b", environment = { variables = { K = "v\"\\\n\tü€😀", [""] = "" } },
                                               layers = json.array {}, tags = {}, list = { 1, 2.5, -0.0, 1e300 } },
                       attrs = { nested = { deeper = { deepest = { true, false, json.null } } } } },
      ["func.é"] = { kind = "func", args = { function_name = "e", description = "{\"a\":1}" }, attrs = { r = "x" } },
      ["func.0first"] = { kind = "func", args = { function_name = "f" } },
    }
    for addr, e in pairs(entries) do st:put(addr, e) check("put " .. addr) end
    st:put("func.a", { kind = "func", args = { function_name = "a", memory_size = 512 } })
    check("changed func.a")
    st:remove("func.b/x")
    check("removed func.b/x")
    st:set_outputs({ o = { value = "\n  \"resources\": \"\\u0001\"", sensitive = false } })
    st:put("func.z", ENTRY)
    check("outputs holding the marker's text")
    local again = assert(statelib.open(path))
    again:put("func.y", ENTRY)
    assert(again:save())
    assert.equal(again:document(), sys.read_file(path), "a reopened state")
  end)
end)

describe("state saves of a reopened file", function()
  it("write the entries a reopened file holds as they stand: what json_dumps gives of them", function()
    local path = temp_state()
    local st = assert(statelib.open(path))
    st:put("func.a", ENTRY)
    st:put("func.b", { kind = "func", args = { function_name = "b", description = "say \"hi\"\n\t\\ / \1",
                                              layers = json.array {}, tags = {}, n = -3 },
                       attrs = { list = { 1, "two", json.null, true, { deeper = {} } } } })
    st:put("func.c", { kind = "func", args = { function_name = "c", ratio = 2.5 } })
    assert(st:save())
    local again = assert(statelib.open(path))
    again:put("func.d", ENTRY)
    assert(again:save())
    -- Read back and written again by jansson: the same bytes.
    assert.equal(assert(statelib.open(path)):document(), sys.read_file(path))
    assert.same(ENTRY, assert(statelib.open(path)):get("func.a"))
  end)
end)

describe("state reads", function()
  it("give one field of an entry as the whole entry has it", function()
    local st = assert(statelib.open(temp_state()))
    st:put("func.a", { kind = "func", args = { function_name = "a", memory_size = 128 },
                       target = { kind = "endpoint", endpoint = "http://x", region = "r" } })
    assert.same(st:get("func.a").target, st:get("func.a", "target"))
    assert.same({ kind = "endpoint", endpoint = "http://x", region = "r" }, st:get("func.a", "target"))
    assert.equal("func", st:get("func.a", "kind"))
    assert.equal(nil, st:get("func.a", "attrs"), "a field the entry does not have")
    assert.equal(nil, st:get("func.none", "kind"), "an entry that is not there")
    assert.equal(nil, st:get("func.none"))
    local got = st:get("func.a", "args")
    got.memory_size = 256
    assert.equal(128, st:get("func.a").args.memory_size, "a field is a copy, as an entry is")
  end)

  it("give a field read as one read before through the same memo as that same table", function()
    local path = temp_state()
    local st = assert(statelib.open(path))
    local here, there = { kind = "endpoint", endpoint = "http://x", region = "r" }, { kind = "aws", region = "r" }
    for name, target in pairs { a = here, b = here, c = there } do
      st:put("func." .. name, { kind = "func", args = { function_name = name }, target = target })
    end
    assert(st:save())
    st = assert(statelib.open(path)) -- (entries kept as the file's text)
    local memo = {}
    local a, b, c = st:get("func.a", "target", memo), st:get("func.b", "target", memo), st:get("func.c", "target", memo)
    assert.same(here, a)
    assert.same(there, c)
    assert.truthy(rawequal(a, b), "the same text: the same table")
    assert.falsy(rawequal(a, c))
    assert.truthy(rawequal(a, st:get("func.a", "target", memo)), "after another text, the first one's table")
    assert.truthy(rawequal(c, st:get("func.c", "target", memo)))
    assert.truthy(rawequal(c, st:get("func.c", "target", memo)), "the same text twice in a row")
    assert.falsy(rawequal(a, st:get("func.a", "target")), "without a memo: a copy")
    assert.falsy(rawequal(a, st:get("func.a", "target", {})), "another memo: another table")
    assert.equal("func", st:get("func.a", "kind", memo))
    assert.equal(nil, st:get("func.none", "target", memo))
    assert.has_error(function() st:get("func.a", "target", "memo") end, "table expected")
  end)
end)

-- An entry with every kind of value a state holds, saved and opened again: kept as text.
local RICH = { kind = "func", name = "a",
  args = { function_name = "a", memory_size = 128, ratio = 1.5, publish = false, skip = true,
           layers = { "l1", "l2" }, none = json.array {}, env = { variables = { A = "1", B = "two" } },
           empty = {}, nothing = json.null },
  attrs = { arn = "arn:aws:lambda:r:1:function:a", version = "$LATEST", size = 157, tags_all = {} },
  quoted = { text = 'say "hi"' },
  target = { kind = "endpoint", endpoint = "http://x", region = "r" } }

local function kept_state(entry)
  local path = temp_state()
  local st = assert(statelib.open(path))
  st:put("func.a", entry)
  assert(st:save())
  return assert(statelib.open(path))
end

local function copy(v)
  if type(v) ~= "table" then return v end
  local out = setmetatable({}, getmetatable(v))
  for k, x in pairs(v) do out[k] = copy(x) end
  return out
end

describe("state:same (a field compared with the file's text)", function()
  it("is true for what state:get makes of the field, whatever the table, and false for any difference", function()
    local st = kept_state(RICH)
    for _, field in ipairs { "kind", "name", "args", "attrs", "target" } do
      assert.truthy(st:same("func.a", field, st:get("func.a", field)), field)
      assert.truthy(st:same("func.a", field, copy(st:get("func.a", field))), field .. " (another table)")
    end
    assert.truthy(st:same("func.a", "missing", nil), "a field the entry has not: nil")
    assert.falsy(st:same("func.a", "missing", {}))
    assert.falsy(st:same("func.a", "args", nil))
    local changes = {
      function(a) a.memory_size = 256 end, function(a) a.memory_size = 128.0 end, function(a) a.ratio = 2 end,
      function(a) a.ratio = "1.5" end, function(a) a.publish = true end, function(a) a.skip = 1 end,
      function(a) a.layers[2] = "l3" end, function(a) a.layers[3] = "l3" end, function(a) a.layers[2] = nil end,
      function(a) a.layers.x = "y" end, function(a) a.none = {} end, function(a) a.none = { 1 } end,
      function(a) a.empty = json.array {} end, function(a) a.empty.x = 1 end, function(a) a.nothing = false end,
      function(a) a.env.variables.B = "twO" end, function(a) a.env.variables.C = "3" end,
      function(a) a.env.variables.A = nil end, function(a) a.function_name = "a\0" end,
      function(a) a.extra = 1 end, function(a) a.function_name = nil end, function(a) a[1] = "x" end,
      function(a) setmetatable(a.env, { __index = {} }) end, function(a) a.env = "text" end,
    }
    for i, change in ipairs(changes) do
      local args = copy(st:get("func.a", "args"))
      change(args)
      assert.falsy(st:same("func.a", "args", args), "change " .. i)
    end
  end)

  it("compares several fields at once, and says false for what it cannot tell from the text", function()
    local st = kept_state(RICH)
    local attrs, target = st:get("func.a", "attrs"), st:get("func.a", "target")
    assert.truthy(st:same("func.a", "attrs", attrs, "target", target, "kind", "func"))
    assert.falsy(st:same("func.a", "attrs", attrs, "target", target, "kind", "layer"))
    assert.falsy(st:same("func.a", "quoted", st:get("func.a", "quoted")), "a string with an escape: not compared")
    assert.falsy(st:same("func.none", "kind", "func"), "no such entry")
    local unsaved = assert(statelib.open(temp_state()))
    unsaved:put("func.a", RICH)
    assert.falsy(unsaved:same("func.a", "kind", "func"), "an entry not kept as text: not compared")
  end)
end)

describe("state:get_without and state:get_in", function()
  it("give the entry without the fields named, and fields of a field, kept as text or not", function()
    local kept, unsaved = kept_state(RICH), assert(statelib.open(temp_state()))
    unsaved:put("func.a", RICH)
    for _, st in ipairs { kept, unsaved } do
      local whole, without = st:get("func.a"), st:get_without("func.a", "attrs", "target")
      assert.equal(nil, without.attrs)
      assert.equal(nil, without.target)
      whole.attrs, whole.target = nil, nil
      assert.same(whole, without)
      assert.same(st:get("func.a"), st:get_without("func.a"))
      assert.equal(nil, st:get_without("func.none", "attrs"))
      local version, endpoint, none, deeper = st:get_in("func.a", "attrs", "version", "target", "endpoint",
        "target", "provider", "kind", "x")
      assert.equal("$LATEST", version)
      assert.equal("http://x", endpoint)
      assert.equal(nil, none)
      assert.equal(nil, deeper, "a field that is not an object")
      assert.same({ "l1", "l2" }, (st:get_in("func.a", "args", "layers")))
      assert.equal(nil, (st:get_in("func.none", "attrs", "version")))
    end
  end)

  it("find a member of a field as its own, not one of a value nested in it, nor one after it", function()
    local nested = { kind = "func", args = { function_name = "n", version = "in args" },
      attrs = { a = { version = "inner", z = { 1, { version = "deeper" } } }, b = { "x", "version" }, c = {},
                version = "outer", w = "version" },
      other = { b = { version = "inner" }, c = json.array {} } }
    for _, st in ipairs { kept_state(nested), assert(statelib.open(temp_state())) } do
      if not st:get("func.a") then st:put("func.a", nested) end
      st:put("func.b", nested) -- (not kept as text)
      for _, addr in ipairs { "func.a", "func.b" } do
        local outer, none, args, empty = st:get_in(addr, "attrs", "version", "other", "version", "args", "version",
          "other", "c")
        assert.equal("outer", outer, addr)
        assert.equal(nil, none, addr .. ": only a nested object has it")
        assert.equal("in args", args, addr .. ": not the other fields' members")
        assert.same(json.array {}, empty, addr)
        assert.same({ 1, { version = "deeper" } }, (st:get_in(addr, "attrs", "a")).z)
        assert.equal(nil, (st:get_in(addr, "args", "w")), addr .. ": the next field's member")
      end
    end
  end)
end)

describe("an entry made from the file's text", function()
  it("has each key as written, however alike the keys of its objects and of other entries are", function()
    local alike = { kind = "func", args = { function_name = "k", a1xb = 1, a2xb = 2, a3xb = 3, a3xxb = 4 },
      attrs = { a1xb = "one", a2xb = "two", ["a2\\xb"] = "escaped", a2xbb = "longer" } }
    local other = { kind = "func", args = { function_name = "l", a4xb = 4, a5xb = 5 }, attrs = { a9xb = 9 } }
    local path = temp_state()
    local st = assert(statelib.open(path))
    st:put("func.a", alike)
    st:put("func.b", other)
    assert(st:save())
    for _ = 1, 2 do -- (the second time, keys made before)
      st = assert(statelib.open(path))
      assert.same(alike, st:get("func.a"))
      assert.same(other, st:get("func.b"))
      assert.same(alike.args, st:get_without("func.a", "attrs").args)
      assert.same(other.attrs, st:get("func.b", "attrs"))
    end
  end)
end)

describe("a backend's state object", function()
  it("delegates to the native state, its methods taking the backend's object, its own methods first", function()
    local path = temp_state()
    local backend = require("lambdaeng.state.local").new({ state = path, lock = path .. ".lock", key = path .. ".key" })
    local st = assert(backend:open())
    assert.equal(nil, rawget(st, "get"))
    local get = st.get
    assert.equal(st.native.get, get, "the native method itself, no wrapper")
    assert.equal(get, rawget(st, "get"), "kept on the object")
    st:put("func.a", ENTRY)
    assert.same(ENTRY, st:get("func.a"))
    assert.same(ENTRY.attrs, st:get("func.a", "attrs"))
    assert.equal(nil, rawget(st, "save"), "the backend's own save, not the native one")
    assert.equal(true, (st:save()))
    assert.equal(1, serial_on_disk(path))
    assert.same({ "func.a" }, st.native.addresses(st), "a native method given the backend's object")
    local ok, err = pcall(get, { native = {} }, "func.a")
    assert.falsy(ok)
    assert.truthy(tostring(err):find("lambdaeng.state expected", 1, true), err)
    ok, err = pcall(get, {}, "func.a")
    assert.truthy(not ok and tostring(err):find("lambdaeng.state expected", 1, true), err)
  end)
end)

describe("state:addresses()", function()
  local function entry(memory)
    return { kind = "func", args = { function_name = "a", memory_size = memory }, attrs = { arn = "x" } }
  end
  it("gives the same sorted list until an address comes or goes (put, remove, a merge on save)", function()
    local path = temp_state()
    local st = assert(statelib.open(path))
    st:put("func.b", entry(128))
    st:put("func.a", entry(128))
    local list = st:addresses()
    assert.same({ "func.a", "func.b" }, list)
    assert.equal(list, st:addresses(), "kept: the same table")
    st:put("func.a", entry(256))
    assert.falsy(st:remove("func.none"))
    assert.equal(list, st:addresses(), "an address put again or removed when absent changes nothing")
    st:put("func.c", entry(128))
    assert.same({ "func.a", "func.b", "func.c" }, st:addresses())
    assert.same({ "func.a", "func.b" }, list, "a list given is never changed")
    assert(st:remove("func.b"))
    assert.same({ "func.a", "func.c" }, st:addresses())
    assert(st:save())
    local other = assert(statelib.open(path)) -- another run adds an entry and saves first
    other:put("func.d", entry(128))
    assert(other:save())
    local before = st:addresses()
    st:put("func.a", entry(512))
    assert.equal(before, st:addresses())
    assert(st:save()) -- merges the other run's entry
    assert.same({ "func.a", "func.c", "func.d" }, st:addresses())
    sys.remove_tree(path:match("^(.*)/"))
  end)
end)
