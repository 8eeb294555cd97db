-- The last-line-of-defence filter (lambdaeng.secrets): a secret is masked in the
-- forms code prints it in, not only as its raw bytes.
local secrets = require "lambdaeng.secrets"

local SECRET = 'Pa"ss\\w\u{f6}rd/<&>!x \u{1F600}'

describe("redact", function()
  before_each(function() secrets.reset() secrets.add(SECRET) end)
  after_each(function() secrets.reset() end)

  local forms = {
    ["the raw value"] = SECRET,
    ["Python's json.dumps (\\u escapes)"] = 'Pa\\"ss\\\\w\\u00f6rd/<&>!x \\ud83d\\ude00',
    ["json.dumps(ensure_ascii=False)"] = 'Pa\\"ss\\\\w\u{f6}rd/<&>!x \u{1F600}',
    ["Go's encoder (<>& escaped)"] = 'Pa\\"ss\\\\w\u{f6}rd/\\u003c\\u0026\\u003e!x \u{1F600}',
    ["upper-case hex, '/' escaped"] = 'Pa\\"ss\\\\w\\u00F6rd\\/<&>!x \\uD83D\\uDE00',
    ["JSON escaped twice"] = 'Pa\\\\\\"ss\\\\\\\\w\\\\u00f6rd/<&>!x \\\\ud83d\\\\ude00',
    ["URL-encoded"] = "Pa%22ss%5Cw%C3%B6rd%2F%3C%26%3E%21x%20%F0%9F%98%80",
    ["URL-encoded, lower-case hex, + for space"] = "Pa%22ss%5cw%c3%b6rd/%3c%26%3e%21x+%f0%9f%98%80",
  }
  for name, form in pairs(forms) do
    it("masks " .. name, function()
      assert.equal("error: (sensitive) end", secrets.redact("error: " .. form .. " end"))
    end)
  end

  it("leaves other text alone", function()
    assert.equal("error: Pa-ss end", secrets.redact("error: Pa-ss end"))
  end)
end)

describe("a short secret", function()
  before_each(function() secrets.reset() secrets.add("Ab3z9") end)
  after_each(function() secrets.reset() end)

  it("is masked where it is a whole JSON string, and nowhere else", function()
    assert.equal('{"pw": "(sensitive)", "word": "Ab3z9x", "n": Ab3z9}',
      secrets.redact('{"pw": "Ab3z9", "word": "Ab3z9x", "n": Ab3z9}'))
  end)

  it("is scrubbed from a stored string that is it, or holds it as a JSON string", function()
    local digest = function(v) return "d:" .. v end
    assert.same({ sensitive_digest = "d:Ab3z9" }, secrets.scrub("Ab3z9", digest))
    assert.same({ sensitive_digest = 'd:{"pw": "Ab3z9"}' }, secrets.scrub('{"pw": "Ab3z9"}', digest))
    assert.equal("Ab3z9x", secrets.scrub("Ab3z9x", digest))
  end)

  it("of fewer than 3 characters is left to structure", function()
    secrets.reset()
    secrets.add("ab")
    assert.equal('{"k": "ab"}', secrets.redact('{"k": "ab"}'))
  end)
end)
