def handler(event, context):
    """Checks a proposed configuration against simple rules."""
    violations = []
    if event.get("memory_size", 0) > 3008:
        violations.append("memory_size above 3008 MB needs approval")
    if not event.get("tags", {}).get("owner"):
        violations.append("every function needs an owner tag")
    return {"compliant": not violations, "violations": violations}
