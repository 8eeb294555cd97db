import json
import os

import release_shared  # only the layer provides it (/opt/python)


def handler(event, context):
    # an Event invocation asked to fail: retried, then reported to the on-failure function
    if isinstance(event, dict) and event.get("fail"):
        raise RuntimeError("asked to fail")
    # called through the function URL (payload format 2.0) or invoked directly
    path = event.get("rawPath", "/") if isinstance(event, dict) else "/"
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"path": path, "version": os.environ.get("AWS_LAMBDA_FUNCTION_VERSION"),
                            "greeting": release_shared.greeting(os.environ.get("MESSAGE", ""))}),
    }
