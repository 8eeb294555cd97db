import json
import os


def handler(event, context):
    # called through the function URL (payload format 2.0) or invoked directly
    path = event.get("rawPath", "/") if isinstance(event, dict) else "/"
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"path": path, "version": os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")}),
    }
