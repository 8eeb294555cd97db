import json
import os


def handler(event, context):
    print("hello from", os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))
    return {"message": "hello, " + event.get("name", "world"), "stage": os.environ.get("STAGE")}
