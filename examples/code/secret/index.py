import secrets


def handler(event, context):
    """Generates a fresh API key for the requested environment."""
    return {"api_key": secrets.token_hex(16), "environment": event.get("environment", "dev")}
