-- lambda_api.function_error and with_error_message: what an Invoke answer's function
-- error says, whatever the payload holds (the runtime's object, a string, nothing).
local lambda_api = require "lambdaeng.aws.lambda_api"

-- { payload, what is said }
local CASES = {
  -- the runtime's errorType and errorMessage
  { '{"errorType":"ValueError","errorMessage":"boom","stackTrace":[]}', "ValueError: boom" },
  { '{"errorType":"E","errorMessage":5}', "E: 5" },
  { '{"errorType":"E","errorMessage":{"a":1}}', 'E: {"a":1}' },
  -- an empty, blank or null message is said to be empty
  { '{"errorType":"Exception","errorMessage":""}', "Exception (the error message is empty)" },
  { '{"errorType":"E","errorMessage":" \\n "}', "E (the error message is empty)" },
  { '{"errorType":"E","errorMessage":null}', "E (the error message is empty)" },
  { "", "Unhandled (the error message is empty)" },
  -- else the header's kind, and the raw payload
  { '{"errorType":{"a":1},"errorMessage":"m"}', "Unhandled: m" },
  { '{"errorType":"","errorMessage":"m"}', "Unhandled: m" },
  { '{"errorType":"E"}', 'E: {"errorType":"E"}' },
  { '"just text"', 'Unhandled: "just text"' },
}

describe("lambda_api.function_error", function()
  it("says the runtime's type and message, an empty one as such, else the header's kind and the payload", function()
    for _, case in ipairs(CASES) do
      local kind, message = lambda_api.function_error { function_error = "Unhandled", payload = case[1] }
      local said = lambda_api.with_error_message(kind, message)
      if said ~= case[2] then error(string.format("payload %s: said %q, expected %q", case[1], said, case[2])) end
    end
  end)

  it("is nil when the function did not fail", function()
    assert.is_nil(lambda_api.function_error { payload = '{"errorType":"E","errorMessage":"m"}' })
  end)
end)
