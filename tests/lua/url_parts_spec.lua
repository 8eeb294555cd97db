-- http.url_parts: a plain http:// URL is read without libcurl (engine/httpurl_plain.c) and
-- gives the parts libcurl gives it. libcurl reads "HTTP://..." (an upper-case scheme, which
-- is never plain) with the rest as written and the scheme in lower case, so each plain URL's
-- parts are compared with libcurl's parse of its upper-case twin.
local http = require "lambdaeng.native.http"

local PLAIN = {
  "http://127.0.0.1:9001", "http://127.0.0.1:9001/", "http://localhost/2015-03-31/functions/f?Qualifier=%24LATEST",
  "http://LocalHost:80/", "http://h?x=1", "http://h/p?", "http://h.example:65535//k/%7E?a?b", "http://a_b.c/.well",
  "http://255.255.255.255/x/..y", "http://h/a;b=c,d!$&'()*+@:",
}

describe("http.url_parts", function()
  it("gives a plain URL's parts as libcurl parses them", function()
    for _, url in ipairs(PLAIN) do
      local twin = "HTTP" .. url:sub(5)
      local parts, why = http.url_parts(url)
      assert.truthy(parts, why)
      assert.same(assert(http.url_parts(twin)), parts)
    end
  end)
  it("gives the port only when the URL has one, and the path '/' when it has none", function()
    assert.same({ scheme = "http", host = "h", path = "/" }, http.url_parts("http://h"))
    assert.same({ scheme = "http", host = "h", port = "8080", path = "/", query = "" }, http.url_parts("http://h:8080?"))
  end)
end)
