"""The REPL's invoke, invoke_many and invoke_stream take opts.timeout: the seconds an
attempt waits for its answer, over the client's 960 s and LAMBDAENG_HTTP_TIMEOUT; a call
with no answer in time after its request went out fails once, naming that timeout (the
function may have run). A bad value is an error naming opts.timeout, with nothing sent.
Against a socket server that reads each request and never answers; what is asserted is
the timeout the error names and the requests the server read, never how long anything
took (the environment's timeout, 30 s, is longer than the one given)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import run  # noqa: E402
from test_invoke_once import ENV, MAY_HAVE_RUN, HoldingTest  # noqa: E402


class ReplTimeout(HoldingTest):
    def repl(self, chunk):
        env = dict(ENV, HOME=self.dir, LAMBDAENG_HTTP_TIMEOUT="30")
        return run("repl", "-e", chunk, "--endpoint", self.hold.url, env=env, timeout=120)

    def test_a_call_waits_as_long_as_its_timeout_says(self):
        for op, chunk in [("Invoke", 'invoke("t-invoke", {}, { timeout = 0.5 })'),
                          ("Invoke", 'print(invoke_many({{"t-many", {}, { timeout = 0.5 }}})[1])'),
                          ("InvokeWithResponseStream", 'invoke_stream("t-stream", {}, nil, { timeout = 0.5 })')]:
            r = self.repl(chunk)
            self.assertIn("%s: no answer within 0.5 s after the request was sent; %s" % (op, MAY_HAVE_RUN),
                          r.stdout + r.stderr, chunk)
        for name in ("t-invoke", "t-many", "t-stream"):
            self.assertEqual(self.hold.count("/functions/%s/" % name), 1, name)

    def test_a_bad_timeout_is_refused_naming_it(self):
        for value, shown in [("-1", "-1"), ("0", "0"), ('"5"', '"5"'), ("0/0", "-?nan"), ("math.huge", "inf"),
                             ("{}", "table: ")]:
            for call in ('invoke("t-bad", {}, { timeout = %s })', 'invoke_stream("t-bad", {}, nil, { timeout = %s })'):
                r = self.repl(call % value)
                self.assertEqual(r.returncode, 1, r.stdout)
                self.assertRegex(r.stderr, "invoke: opts.timeout must be a number of seconds above 0 and at most "
                                 "86400, not " + shown.replace("(", r"\("))
        r = self.repl('invoke("t-bad", {}, 5)')
        self.assertIn("invoke: opts must be a table, not a number", r.stderr)
        self.assertEqual(self.hold.count("t-bad"), 0)


if __name__ == "__main__":
    unittest.main()
