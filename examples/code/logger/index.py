def handler(event, context):
    """Logs what it was asked to do; the log tail comes back with log_type = "Tail"."""
    print("processing", event)
    if event.get("fail"):
        raise ValueError("asked to fail: " + str(event.get("fail")))
    return {"ok": True}
