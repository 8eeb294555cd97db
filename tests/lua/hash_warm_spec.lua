-- hash.warm() (engine/hash.c): OpenSSL's first fetch made on a thread of its own while the
-- command goes on (plan and run start it). The first hash after it joins the thread and
-- digests with the algorithm the thread fetched: the digests must be SHA-256's (FIPS 180-4
-- test vectors), whether the thread is still running or done, and warm() starts one thread
-- at most. (This spec's process has hashed nothing before: it runs first in its own binary.)
local hash = require "lambdaeng.native.hash"

local ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
local TWO_BLOCKS = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"

describe("hash.warm", function()
  it("readies OpenSSL on one thread at most; the first hash after it is SHA-256", function()
    assert.equal(true, hash.warm())
    assert.equal(false, hash.warm())
    assert.equal(ABC, hash.sha256("abc"))
    assert.equal(ABC, hash.hex(hash.sha256_raw("abc")))
    assert.equal(TWO_BLOCKS, hash.sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))
    assert.equal(false, hash.warm()) -- (joined: never a second thread)
  end)
end)
