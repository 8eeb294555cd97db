-- aws/proxy.lua: the proxy libcurl 7.88 takes from the environment for a URL, as the
-- messages name it. The no_proxy cases follow libcurl's own (tests/unit/unit1614.c);
-- the variables its lib/url.c reads, in its order.
local proxy = require "lambdaeng.aws.proxy"

local function env(vars) return function(name) return vars[name] end end

-- cases: { host, no_proxy, covered }
local function check_covered(cases)
  for _, c in ipairs(cases) do
    if proxy.covered(c[1], c[2]) ~= c[3] then
      error(string.format("covered(%q, %q) should be %s", c[1], c[2], tostring(c[3])), 2)
    end
  end
end

describe("proxy.covered", function()
  it("matches names whole or as a domain suffix (one leading and trailing dot ignored), an IPv4 host "
    .. "only with addresses and CIDR ranges", function()
    check_covered {
      { "www.example.com", "localhost,.example.com,.example.de", true },
      { "example.com", ".example.com", true },
      { "example.com", "example.com", true },
      { "EXAMPLE.com", "example.COM", true },
      { "www.example.com.", "example.com", true },
      { "www.example.com", "example.com.", true },
      { "nonexample.com", "example.com", false },
      { "www.example.org", "localhost,.example.com,.example.de", false },
      { "example.com", "www.example.com", false },
      { "example.com", "*", true },
      { "example.com", "*,foo", false },
      { "example.com", "", false },
      { "example.com", " foo ,  example.com ", true },
      { "127.0.0.1", "127.0.0.1,localhost", true },
      { "127.0.0.1", "localhost", false },
      { "10.1.2.3", "10.0.0.0/8", true },
      { "11.1.2.3", "10.0.0.0/8", false },
      { "192.168.0.1", "192.168.0.0/16", true },
      { "192.168.0.1", "192.168.0.2/0", false }, -- (/0: the whole address, as libcurl)
      { "192.168.0.1", "192.168.0.1/33", false },
      { "127.0.0.1", "0.0.1", false },
    }
  end)
end)

describe("proxy.for_url", function()
  it("takes <scheme>_proxy, its upper case but for http, then all_proxy, ALL_PROXY", function()
    local https, http = "https://lambda.us-east-1.amazonaws.com/x", "http://127.0.0.1:9001/x"
    assert.same({ shown = "http://p:1", variable = "https_proxy" },
      proxy.for_url(https, env { https_proxy = "http://p:1", HTTPS_PROXY = "http://q:2", all_proxy = "r:3" }))
    assert.same({ shown = "http://q:2", variable = "HTTPS_PROXY" },
      proxy.for_url(https, env { HTTPS_PROXY = "http://q:2", all_proxy = "r:3" }))
    assert.same({ shown = "http://r:3", variable = "all_proxy" }, proxy.for_url(https, env { all_proxy = "r:3" }))
    assert.same({ shown = "socks5://s:4", variable = "ALL_PROXY" }, proxy.for_url(https, env { ALL_PROXY = "socks5://s:4" }))
    -- HTTP_PROXY is not read for http (a CGI program's environment holds a client's Proxy: header there)
    assert.same({ shown = "http://r:3", variable = "all_proxy" },
      proxy.for_url(http, env { HTTP_PROXY = "http://q:2", all_proxy = "r:3" }))
    assert.is_nil(proxy.for_url(http, env { HTTP_PROXY = "http://q:2" }))
    assert.is_nil(proxy.for_url(https, env { https_proxy = "", all_proxy = "r:3" })) -- set empty: no proxy
    assert.is_nil(proxy.for_url(https, env {}))
  end)

  it("goes direct to a host no_proxy (else NO_PROXY) names", function()
    local vars = { https_proxy = "http://p:1", no_proxy = ".amazonaws.com", NO_PROXY = "other" }
    assert.is_nil(proxy.for_url("https://lambda.us-east-1.amazonaws.com/x", env(vars)))
    vars.no_proxy = nil
    assert.truthy(proxy.for_url("https://lambda.us-east-1.amazonaws.com/x", env(vars)))
    assert.is_nil(proxy.for_url("https://other:443/x", env(vars)))
    assert.is_nil(proxy.for_url("https://user:pw@other:443/x", env(vars)))
  end)

  it("never shows the proxy's user or password, however they are written", function()
    for value, shown in pairs {
      ["http://user:secret@p:8080"] = "http://p:8080",
      ["user:secret@p:8080"] = "http://p:8080",
      ["http://user:se@cr/et@p:8080/path"] = "http://p:8080",
      ["HTTP://user%40corp:p%2Fw@p:8080"] = "http://p:8080",
      ["http://p:8080/"] = "http://p:8080",
    } do
      assert.equal(shown, proxy.for_url("https://h/x", env { https_proxy = value }).shown)
    end
  end)
end)
