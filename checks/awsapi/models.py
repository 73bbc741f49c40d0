"""Validating request payloads against botocore's service models of the AWS APIs.

botocore's own ParamValidator (what boto3 runs before it sends a request) checks required
members, unknown members, types and minimum lengths/values. It does not check enums,
maximum lengths/values or patterns, which the service checks on its side; constraint_errors
adds those from the same model, so a bad enum value (a dependsOn condition of HEALTHYY)
fails here as it would at AWS.
"""

import functools
import re

import botocore.session
from botocore.validate import ParamValidator


@functools.lru_cache(maxsize=None)
def _session():
    return botocore.session.get_session()


@functools.lru_cache(maxsize=None)
def input_shape(service, operation):
    return _session().get_service_model(service).operation_model(operation).input_shape


def validate(service, operation, params):
    """Every way params break the model of service.operation's request, as messages."""
    shape = input_shape(service, operation)
    report = ParamValidator().validate(params, shape)
    errors = report.generate_report().splitlines() if report.has_errors() else []
    return errors + constraint_errors(params, shape, "")


def constraint_errors(value, shape, path):
    """Enum, max and pattern violations in value (already type-checked by botocore)."""
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        return structure_errors(value, shape, path)
    if kind == "list" and isinstance(value, list):
        errors = max_length_errors(len(value), shape, path)
        for i, item in enumerate(value):
            errors += constraint_errors(item, shape.member, f"{path}[{i}]")
        return errors
    if kind == "map" and isinstance(value, dict):
        errors = []
        for k, v in value.items():
            errors += constraint_errors(k, shape.key, f"{path} (key)")
            errors += constraint_errors(v, shape.value, f"{path}.{k}")
        return errors
    if kind == "string" and isinstance(value, str):
        return string_errors(value, shape, path)
    if kind in ("integer", "long", "double", "float") and isinstance(value, (int, float)):
        return max_value_errors(value, shape, path)
    return []


def structure_errors(value, shape, path):
    errors = []
    for key, item in value.items():
        if key in shape.members:
            errors += constraint_errors(item, shape.members[key], f"{path}.{key}" if path else key)
    return errors


def string_errors(value, shape, path):
    enum = shape.enum
    if enum and value not in enum:
        return [f"Invalid value for parameter {path}, value: {value}, valid values: {', '.join(enum)}"]
    errors = max_length_errors(len(value), shape, path)
    pattern = shape.metadata.get("pattern")
    if pattern and not matches(pattern, value):
        errors.append(f"Invalid value for parameter {path}, value: {value!r}, does not match pattern {pattern}")
    return errors


def max_length_errors(length, shape, path):
    limit = shape.metadata.get("max")
    if limit is not None and length > limit:
        return [f"Invalid length for parameter {path}, value: {length}, valid max length: {limit}"]
    return []


def max_value_errors(value, shape, path):
    limit = shape.metadata.get("max")
    if limit is not None and value > limit:
        return [f"Invalid range for parameter {path}, value: {value}, valid max value: {limit}"]
    return []


@functools.lru_cache(maxsize=None)
def _compile(pattern):
    try:
        return re.compile(pattern)
    except re.error:
        return None  # Java's \p{L} classes (tag keys): Python's re cannot read them; not checked


def matches(pattern, value):
    """The models state most patterns without anchors (IAM's roleNameType `[\\w+=,.@-]+`,
    CloudWatch Logs' LogGroupName); the services apply them to the whole value."""
    compiled = _compile(pattern)
    return compiled is None or compiled.fullmatch(value) is not None
