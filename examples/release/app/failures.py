import json


def handler(event, context):
    # the invocation record of an Event invocation that failed for good
    print("FAILED EVENT", json.dumps(event, sort_keys=True), flush=True)
    return {}
