"""A secret is masked in every form code commonly prints it in (audit F2), on the local
target: a function that fails with its event in the message (the usual
`raise Exception("bad input: " + json.dumps(event))`) prints a sensitive value in its
JSON-escaped form; with a secret holding '"', '\\', '/', '<>&', non-ASCII and a
character past U+FFFF, none of these forms may reach the terminal: Python's json.dumps
(\\uXXXX for non-ASCII), json.dumps(ensure_ascii=False), Go's escaping of <>&, '/'
escaped, uppercase hex (.NET), the JSON of the JSON text (escaped twice), and URL
encoding (quote, quote_plus, lower-case hex). The same run with --debug too, and
nothing under .lambdaeng/ holds them either."""
import json
import os
import re
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from harness import TempDirTest, main, run  # noqa: E402

SECRET = 'Pa"ss\\w\u00f6rd/<&>!x \U0001F600 end'

STACK = """local lambda = require "lambdaeng.lambda"
local json = require "lambdaeng.json"
local pw = var("pw", { sensitive = true })
local fn = lambda.func("s", { function_name = "secret-forms", runtime = "python3.12", handler = "index.handler",
  role = "arn:aws:iam::123456789012:role/r", source = "fn" })
lambda.invocation("f", { function_name = fn.function_name, input = json.encode({ password = pw }) })
"""

# Prints the event in every form below, one per line of the error message.
FUNCTION = r'''import json, re, urllib.parse

def go_style(text):
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")

def handler(event, context):
    pw = event["password"]
    forms = [
        json.dumps(event),
        json.dumps(event, ensure_ascii=False),
        go_style(json.dumps(event, ensure_ascii=False)),
        json.dumps(event).replace("/", "\\/"),
        json.dumps(event).replace("\\u00f6", "\\u00F6").replace("\\ud83d\\ude00", "\\uD83D\\uDE00"),
        json.dumps(json.dumps(event)),
        urllib.parse.quote(pw),
        urllib.parse.quote_plus(pw),
        re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), urllib.parse.quote(pw, safe="")),
    ]
    raise Exception("bad input: " + " | ".join(forms))
'''


def printed_forms(secret):
    """The forms of the secret as the function prints them (inside their quotes)."""
    def body(text):
        return text[1:-1]
    plain = body(json.dumps(secret))
    raw = body(json.dumps(secret, ensure_ascii=False))
    return {
        "json.dumps": plain,
        "ensure_ascii=False": raw,
        "go": raw.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"),
        "slash": plain.replace("/", "\\/"),
        "upper hex": plain.replace("\\u00f6", "\\u00F6").replace("\\ud83d\\ude00", "\\uD83D\\uDE00"),
        "twice": body(json.dumps(plain)),
        "quote": urllib.parse.quote(secret),
        "quote_plus": urllib.parse.quote_plus(secret),
        "lower hex url": re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), urllib.parse.quote(secret, safe="")),
    }


class SecretForms(TempDirTest):
    def test_a_function_error_never_shows_a_secret_in_any_printed_form(self):
        self.write("stack.lua", STACK)
        self.write("fn/index.py", FUNCTION)
        forms = printed_forms(SECRET)
        # the forms really differ from the raw bytes and from each other (the test is not vacuous)
        self.assertEqual(len(set(forms.values()) | {SECRET}), len(forms) + 1, forms)
        for args in ([], ["--debug"]):
            r = run("run", "stack.lua", "--yes", "--local", "--var", "pw=" + SECRET, *args, cwd=self.dir,
                    timeout=300)
            out = r.stdout + r.stderr
            self.assertEqual(r.returncode, 1, out)
            self.assertIn("FunctionError: Exception (Unhandled): bad input: ", out)
            self.assertIn('{"password": "(sensitive)"}', out)
            for name, form in forms.items():
                self.assertNotIn(form, out, f"the {name} form of the secret was printed")
            self.assertNotIn(SECRET, out)
        for root, _, files in os.walk(os.path.join(self.dir, ".lambdaeng")):
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    data = f.read()
                for form in [SECRET, *forms.values()]:
                    self.assertNotIn(form.encode(), data, os.path.join(root, name))


if __name__ == "__main__":
    main()
