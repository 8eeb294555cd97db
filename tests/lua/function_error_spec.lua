-- lambda_api.function_error and with_error_message: what an Invoke answer's function
-- error says, whatever the payload holds (the runtime's object, a string, nothing).
local lambda_api = require "lambdaeng.aws.lambda_api"

local function said(payload)
  local kind, message = lambda_api.function_error { function_error = "Unhandled", payload = payload }
  return lambda_api.with_error_message(kind, message)
end

describe("lambda_api.function_error", function()
  it("gives the runtime's errorType and errorMessage", function()
    assert.equal("ValueError: boom", said('{"errorType":"ValueError","errorMessage":"boom","stackTrace":[]}'))
    assert.equal("E: 5", said('{"errorType":"E","errorMessage":5}'))
    assert.equal('E: {"a":1}', said('{"errorType":"E","errorMessage":{"a":1}}'))
  end)

  it("says the message is empty when it is empty, blank or null", function()
    assert.equal("Exception (the error message is empty)", said('{"errorType":"Exception","errorMessage":""}'))
    assert.equal("E (the error message is empty)", said('{"errorType":"E","errorMessage":" \\n "}'))
    assert.equal("E (the error message is empty)", said('{"errorType":"E","errorMessage":null}'))
    assert.equal("Unhandled (the error message is empty)", said(""))
  end)

  it("falls back to the header's kind and the raw payload", function()
    assert.equal("Unhandled: m", said('{"errorType":{"a":1},"errorMessage":"m"}'))
    assert.equal("Unhandled: m", said('{"errorType":"","errorMessage":"m"}'))
    assert.equal('E: {"errorType":"E"}', said('{"errorType":"E"}'))
    assert.equal('Unhandled: "just text"', said('"just text"'))
    assert.equal("Unhandled: [1]", said("[1]"))
  end)

  it("is nil when the function did not fail", function()
    assert.is_nil(lambda_api.function_error { payload = '{"errorType":"E","errorMessage":"m"}' })
  end)
end)
