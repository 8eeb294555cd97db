"""lambdaeng's bootstrap for python3.* functions on the local target.

It speaks the Lambda Runtime API at $AWS_LAMBDA_RUNTIME_API like AWS's own
runtime interface client: load the handler named by $_HANDLER ("path/module.func")
from $LAMBDA_TASK_ROOT, then loop on /invocation/next, calling the handler with
the event and a context object, and post the result to /response or the error
to /error. An import or lookup failure goes to /init/error. Standard library only.
"""
import http.client
import importlib
import json
import os
import sys
import time
import traceback

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
PREFIX = "/2018-06-01/runtime"


class Connection:
    def __init__(self):
        host, _, port = API.rpartition(":")
        self.conn = http.client.HTTPConnection(host, int(port))

    def request(self, method, path, body=None, headers=None):
        self.conn.request(method, PREFIX + path, body=body, headers=headers or {})
        resp = self.conn.getresponse()
        return resp, resp.read()


def error_body(exc, kind=None):
    tb = traceback.extract_tb(exc.__traceback__)
    return {
        "errorMessage": str(exc),
        "errorType": kind or type(exc).__name__,
        "requestId": "",
        "stackTrace": [line for line in traceback.format_list(tb)],
    }


class Client:
    """The mobile client of a client context, as AWS's runtime gives it (attributes)."""
    __slots__ = ["installation_id", "app_title", "app_version_name", "app_version_code", "app_package_name"]


class ClientContext:
    """context.client_context on AWS: an object with .client, .custom and .env."""
    __slots__ = ["custom", "env", "client"]


class CognitoIdentity:
    __slots__ = ["cognito_identity_id", "cognito_identity_pool_id"]


def object_from(cls, doc):
    """An instance of cls with each of its fields taken from the dict doc (None when absent)."""
    if not isinstance(doc, dict):
        return None
    obj = cls()
    for field in cls.__slots__:
        setattr(obj, field, doc.get(field))
    return obj


def client_context_from(header):
    if not header:
        return None
    cc = object_from(ClientContext, json.loads(header))
    if cc is not None and cc.client is not None:
        cc.client = object_from(Client, cc.client)
    return cc


class Context:
    def __init__(self, headers):
        self.aws_request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn")
        self._deadline_ms = int(headers.get("Lambda-Runtime-Deadline-Ms") or 0)
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.client_context = client_context_from(headers.get("Lambda-Runtime-Client-Context"))
        ci = headers.get("Lambda-Runtime-Cognito-Identity")
        self.identity = object_from(CognitoIdentity, json.loads(ci)) if ci else None

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))


def load_handler(conn):
    name = os.environ.get("_HANDLER", "")
    module_path, _, func_name = name.rpartition(".")
    try:
        if not module_path or not func_name:
            raise ValueError("Bad handler '%s': expected module.function" % name)
        sys.path.insert(0, os.environ["LAMBDA_TASK_ROOT"])
        try:
            module = importlib.import_module(module_path.replace("/", "."))
        except ImportError as e:
            raise_kind = "Runtime.ImportModuleError"
            print("[ERROR] %s: Unable to import module '%s': %s" % (raise_kind, module_path, e), flush=True)
            post_init_error(conn, e, raise_kind, "Unable to import module '%s': %s" % (module_path, e))
        handler = getattr(module, func_name, None)
        if handler is None:
            raise AttributeError("Handler '%s' missing on module '%s'" % (func_name, module_path))
        return handler
    except SyntaxError as e:
        post_init_error(conn, e, "Runtime.UserCodeSyntaxError", "Syntax error in module '%s': %s" % (module_path, e))
    except AttributeError as e:
        post_init_error(conn, e, "Runtime.HandlerNotFound", str(e))
    except Exception as e:  # an exception raised while the module initialises
        traceback.print_exc()
        post_init_error(conn, e, type(e).__name__, str(e))


def post_init_error(conn, exc, kind, message):
    body = error_body(exc, kind)
    body["errorMessage"] = message
    body["stackTrace"] = []
    conn.request("POST", "/init/error", json.dumps(body).encode(),
                 {"Lambda-Runtime-Function-Error-Type": kind, "Content-Type": "application/json"})
    sys.exit(1)


def main():
    sys.stdout.reconfigure(line_buffering=True)
    conn = Connection()
    handler = load_handler(conn)
    while True:
        try:
            resp, body = conn.request("GET", "/invocation/next")
        except (ConnectionError, OSError):
            return  # the target is gone
        headers = {k: v for k, v in resp.getheaders()}
        request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        os.environ["_X_AMZN_TRACE_ID"] = headers.get("Lambda-Runtime-Trace-Id", "")
        try:
            event = json.loads(body) if body else None
        except ValueError:
            event = body.decode("utf-8", "replace")
        try:
            result = handler(event, Context(headers))
            payload = json.dumps(result).encode()
            conn.request("POST", "/invocation/%s/response" % request_id, payload,
                         {"Content-Type": "application/json"})
        except Exception as e:  # the handler's error goes back to the caller
            err = error_body(e)
            err["requestId"] = request_id
            print("[ERROR] %s: %s" % (err["errorType"], err["errorMessage"]), flush=True)
            traceback.print_exc()
            conn.request("POST", "/invocation/%s/error" % request_id, json.dumps(err).encode(),
                         {"Lambda-Runtime-Function-Error-Type": "Unhandled", "Content-Type": "application/json"})


if __name__ == "__main__":
    main()
