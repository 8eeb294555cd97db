-- expect: func name must be a string of letters, digits, _ and - starting with a letter, got "my fn"
local lambda = require "lambdaeng.lambda"
local base = require "base"
lambda.func("my fn", base.func {}) -- error here
