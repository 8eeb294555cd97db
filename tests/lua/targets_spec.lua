-- Targets (lambdaeng.targets): a stored endpoint record names the same target as the
-- endpoint a command resolves when both are the same URL as libcurl parses them: a
-- trailing slash on no path, the host's case, are not another endpoint (the user was
-- asked for --retarget); another port, scheme, host or path prefix is.
local targets = require "lambdaeng.targets"

local function rec(url) return { kind = "endpoint", region = "us-east-1", endpoint = url } end
local function t(url) return { kind = "endpoint", region = "us-east-1", endpoint = url } end

describe("targets.same", function()
  it("takes the same endpoint written another way as the same target", function()
    assert.equal(true, targets.same(rec("http://127.0.0.1:4566"), t("http://127.0.0.1:4566/")))
    assert.equal(true, targets.same(rec("http://127.0.0.1:4566/"), t("http://127.0.0.1:4566")))
    assert.equal(true, targets.same(rec("http://LocalHost:4566"), t("http://localhost:4566")))
    assert.equal(true, targets.same(rec("http://h:1/prefix"), t("http://h:1/prefix")))
  end)
  it("tells another endpoint apart", function()
    assert.equal(false, targets.same(rec("http://127.0.0.1:4566"), t("http://127.0.0.1:4567")))
    assert.equal(false, targets.same(rec("http://127.0.0.1:4566"), t("https://127.0.0.1:4566")))
    assert.equal(false, targets.same(rec("http://127.0.0.1:4566"), t("http://127.0.0.2:4566")))
    assert.equal(false, targets.same(rec("http://h:1/prefix"), t("http://h:1/")))
    assert.equal(false, targets.same(rec("http://h:1/a"), t("http://h:1/b")))
    assert.equal(false, targets.same(rec("not a url ["), t("http://h:1")))
  end)
end)
