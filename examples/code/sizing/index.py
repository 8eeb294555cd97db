def handler(event, context):
    """Sizes a function from the expected load."""
    rps = int(event.get("expected_rps", 10))
    memory = 128 if rps < 50 else 512 if rps < 500 else 2048
    return {"memory_size": memory, "timeout": 10 if rps < 500 else 30, "reserved": max(1, rps // 100)}
