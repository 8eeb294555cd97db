"""JSON Schemas of lambdaeng's --json documents, written from Terraform's documented formats
(https://developer.hashicorp.com/terraform/internals/json-format: plan and values
representations, change representation; .../machine-readable-ui: the streamed messages;
`terraform validate -json`'s document). The same schemas are checked against what Terraform
itself writes (test_json_output.py), so they describe Terraform's shape, not only ours.

Where Terraform leaves a field open (provider-specific values, resource types) so do these."""

# A value: any JSON. Marks (after_unknown, *_sensitive): a boolean, or an object/array of marks.
MARKS = {"anyOf": [{"type": "boolean"},
                   {"type": "array", "items": {"$ref": "#/$defs/marks"}},
                   {"type": "object", "additionalProperties": {"$ref": "#/$defs/marks"}}]}

VALUES_RESOURCE = {
    "type": "object",
    "required": ["address", "mode", "type", "name", "provider_name"],
    "properties": {
        "address": {"type": "string", "minLength": 1},
        "mode": {"enum": ["managed", "data"]},
        "type": {"type": "string", "minLength": 1},
        "name": {"type": "string", "minLength": 1},
        "index": {},
        "provider_name": {"type": "string", "minLength": 1},
        "schema_version": {"type": "integer", "minimum": 0},
        "values": {"type": "object"},
        "sensitive_values": {"type": "object", "additionalProperties": {"$ref": "#/$defs/marks"}},
    },
}

MODULE = {
    "type": "object",
    "properties": {
        "resources": {"type": "array", "items": {"$ref": "#/$defs/values_resource"}},
        "child_modules": {"type": "array", "items": {"$ref": "#/$defs/module"}},
        "address": {"type": "string"},
    },
}

VALUES = {
    "type": "object",
    "required": ["root_module"],
    "properties": {
        "outputs": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["sensitive"],
            "properties": {"sensitive": {"type": "boolean"}, "value": {}, "type": {}}}},
        "root_module": {"$ref": "#/$defs/module"},
    },
}

ACTIONS = {"anyOf": [{"const": ["no-op"]}, {"const": ["create"]}, {"const": ["read"]}, {"const": ["update"]},
                     {"const": ["delete", "create"]}, {"const": ["create", "delete"]}, {"const": ["delete"]},
                     {"const": ["forget"]}]}

CHANGE = {
    "type": "object",
    "required": ["actions", "before", "after_unknown", "before_sensitive", "after_sensitive"],
    "properties": {
        "actions": ACTIONS,
        "before": {},
        "after": {},
        "after_unknown": {"$ref": "#/$defs/marks"},
        "before_sensitive": {"$ref": "#/$defs/marks"},
        "after_sensitive": {"$ref": "#/$defs/marks"},
        "replace_paths": {"type": "array", "items": {"type": "array", "items": {"type": ["string", "integer"]}}},
        "importing": {"type": "object"},
        "generated_config": {"type": "string"},
    },
}

DEFS = {"marks": MARKS, "values_resource": VALUES_RESOURCE, "module": MODULE, "values": VALUES, "change": CHANGE}

PLAN = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$defs": DEFS,
    "type": "object",
    "required": ["format_version", "resource_changes", "planned_values", "applyable", "complete", "errored"],
    "properties": {
        "format_version": {"type": "string", "pattern": r"^1\.[0-9]+$"},
        "terraform_version": {"type": "string"},
        "variables": {"type": "object", "additionalProperties": {"type": "object", "required": ["value"]}},
        "planned_values": {"$ref": "#/$defs/values"},
        "resource_changes": {"type": "array", "items": {
            "type": "object",
            "required": ["address", "mode", "type", "name", "provider_name", "change"],
            "properties": {
                "address": {"type": "string", "minLength": 1},
                "previous_address": {"type": "string"},
                "module_address": {"type": "string"},
                "mode": {"enum": ["managed", "data"]},
                "type": {"type": "string", "minLength": 1},
                "name": {"type": "string", "minLength": 1},
                "index": {},
                "provider_name": {"type": "string"},
                "deposed": {"type": "string"},
                "change": {"$ref": "#/$defs/change"},
                "action_reason": {"enum": [
                    "replace_because_tainted", "replace_because_cannot_update", "replace_by_request",
                    "replace_by_triggers", "delete_because_no_resource_config", "delete_because_wrong_repetition",
                    "delete_because_count_index", "delete_because_each_key", "delete_because_no_module",
                    "delete_because_no_move_target", "read_because_config_unknown",
                    "read_because_dependency_pending", "read_because_check_nested"]},
            }}},
        "output_changes": {"type": "object", "additionalProperties": {"$ref": "#/$defs/change"}},
        "prior_state": {"type": "object", "required": ["format_version"],
                        "properties": {"format_version": {"type": "string"}, "values": {"$ref": "#/$defs/values"}}},
        "applyable": {"type": "boolean"},
        "complete": {"type": "boolean"},
        "errored": {"type": "boolean"},
        "timestamp": {"type": "string", "format": "date-time"},
    },
}

POSITION = {"type": "object", "required": ["line", "column"],
            "properties": {"line": {"type": "integer", "minimum": 1}, "column": {"type": "integer", "minimum": 1},
                           "byte": {"type": "integer", "minimum": 0}}}

DIAGNOSTIC = {
    "type": "object",
    "required": ["severity", "summary", "detail"],
    "properties": {
        "severity": {"enum": ["error", "warning"]},
        "summary": {"type": "string", "minLength": 1},
        "detail": {"type": "string"},
        "address": {"type": "string"},
        "range": {"type": "object", "required": ["filename", "start", "end"],
                  "properties": {"filename": {"type": "string", "minLength": 1}, "start": POSITION, "end": POSITION}},
        "snippet": {"type": "object"},
    },
}

VALIDATE = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["format_version", "valid", "error_count", "warning_count", "diagnostics"],
    "properties": {
        "format_version": {"const": "1.0"},
        "valid": {"type": "boolean"},
        "error_count": {"type": "integer", "minimum": 0},
        "warning_count": {"type": "integer", "minimum": 0},
        "diagnostics": {"type": "array", "items": DIAGNOSTIC},
    },
}

HOOK_RESOURCE = {
    "type": "object",
    "required": ["addr", "module", "resource", "implied_provider", "resource_type", "resource_name", "resource_key"],
    "properties": {"addr": {"type": "string", "minLength": 1}, "module": {"type": "string"},
                   "resource": {"type": "string", "minLength": 1}, "implied_provider": {"type": "string"},
                   "resource_type": {"type": "string", "minLength": 1},
                   "resource_name": {"type": "string", "minLength": 1}, "resource_key": {}},
}

UI_ACTION = {"enum": ["noop", "create", "read", "update", "replace", "delete", "move", "import", "forget"]}

HOOK = {"type": "object", "required": ["resource", "action"],
        "properties": {"resource": HOOK_RESOURCE, "action": UI_ACTION,
                       "elapsed_seconds": {"type": "integer", "minimum": 0},
                       "id_key": {"type": "string"}, "id_value": {"type": "string"}}}

CHANGES = {"type": "object", "required": ["add", "change", "remove", "operation"],
           "properties": {"add": {"type": "integer", "minimum": 0}, "change": {"type": "integer", "minimum": 0},
                          "import": {"type": "integer", "minimum": 0}, "remove": {"type": "integer", "minimum": 0},
                          "operation": {"enum": ["plan", "apply", "destroy"]}}}


def _event(kind, required, props):
    return {"if": {"properties": {"type": {"const": kind}}},
            "then": {"required": required, "properties": props}}


UI_EVENT = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["@level", "@message", "@module", "@timestamp", "type"],
    "properties": {
        "@level": {"enum": ["trace", "debug", "info", "warn", "error"]},
        "@message": {"type": "string"},
        "@module": {"type": "string", "minLength": 1},
        "@timestamp": {"type": "string", "format": "date-time",
                       "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$"},
        "type": {"enum": ["version", "log", "diagnostic", "planned_change", "change_summary", "outputs",
                          "resource_drift", "apply_start", "apply_progress", "apply_complete", "apply_errored",
                          "refresh_start", "refresh_complete", "provision_start", "provision_progress",
                          "provision_complete", "provision_errored", "test_abstract", "test_file", "test_run",
                          "test_summary", "test_cleanup", "test_interrupt", "test_status", "init_output",
                          "ephemeral_op_start", "ephemeral_op_complete", "ephemeral_op_errored"]},
    },
    "allOf": [
        _event("version", ["ui"], {"ui": {"type": "string"}}),
        _event("diagnostic", ["diagnostic"], {"diagnostic": DIAGNOSTIC}),
        _event("planned_change", ["change"], {"change": {
            "type": "object", "required": ["resource", "action"],
            "properties": {"resource": HOOK_RESOURCE, "previous_resource": HOOK_RESOURCE, "action": UI_ACTION,
                           "reason": {"type": "string"}}}}),
        _event("resource_drift", ["change"], {"change": {
            "type": "object", "required": ["resource", "action"],
            "properties": {"resource": HOOK_RESOURCE, "action": UI_ACTION}}}),
        _event("change_summary", ["changes"], {"changes": CHANGES}),
        _event("outputs", ["outputs"], {"outputs": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["sensitive"],
            "properties": {"sensitive": {"type": "boolean"}, "value": {}, "type": {},
                           "action": {"enum": ["noop", "create", "update", "delete"]}}}}}),
        _event("apply_start", ["hook"], {"hook": HOOK}),
        _event("apply_progress", ["hook"], {"hook": dict(HOOK, required=["resource", "action", "elapsed_seconds"])}),
        _event("apply_complete", ["hook"], {"hook": dict(HOOK, required=["resource", "action", "elapsed_seconds"])}),
        _event("apply_errored", ["hook"], {"hook": dict(HOOK, required=["resource", "action", "elapsed_seconds"])}),
    ],
}

STATE_SHOW = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": DEFS,
              "allOf": [{"$ref": "#/$defs/values_resource"}, {"required": ["values", "sensitive_values"]}]}

STATE_LIST = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["format_version", "resources"],
    "properties": {"format_version": {"const": "1.0"}, "resources": {"type": "array", "items": {
        "type": "object", "required": ["address", "mode", "type", "name", "provider_name"],
        "properties": {k: VALUES_RESOURCE["properties"][k] for k in ("address", "mode", "type", "name",
                                                                     "provider_name")}}}},
}

GRAPH = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["format_version", "nodes", "edges"],
    "properties": {
        "format_version": {"const": "1.0"},
        "nodes": {"type": "array", "items": {"type": "object", "required": ["address", "mode", "type", "name"],
                                             "properties": {"address": {"type": "string", "minLength": 1},
                                                            "mode": {"enum": ["managed", "data"]},
                                                            "type": {"type": "string"}, "name": {"type": "string"},
                                                            "declared_at": {"type": "string"}}}},
        "edges": {"type": "array", "items": {"type": "object", "required": ["from", "to"], "additionalProperties": False,
                                             "properties": {"from": {"type": "string"}, "to": {"type": "string"}}}},
    },
}
