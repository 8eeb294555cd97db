def handler(event, context):
    """Acts on the lifecycle key lambdaeng adds to a CRUD invocation's input."""
    lifecycle = event.get("tf", {})
    print("lifecycle action:", lifecycle.get("action"), "previous input:", lifecycle.get("prev_input"))
    return event
