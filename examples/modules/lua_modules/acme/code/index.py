def handler(event, context):
    """Returns the event it was given: the invocation examples read their input back."""
    return event
