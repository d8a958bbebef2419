"""Check HTTP requests against the ClinicalTrials.gov OpenAPI document (ctg-oas-v2.yaml).

The lead's suite uses `validate_request` to assert that every request a run sends is valid against
the official document; the fake server uses `load_spec`/`resolve` to build its field tree.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import yaml

# The server prefix of the real API (`servers[0].url` is https://clinicaltrials.gov/api/v2).
BASE_PATH = "/api/v2"

# The spec's description says list values are "comma- or pipe-separated" for every
# `style: pipeDelimited` parameter (filter.overallStatus, filter.ids, fields, sort...).
_LIST_SEPARATOR = re.compile(r"[,|]")
_INT32 = (-(2**31), 2**31 - 1)


def load_spec(path: str | Path) -> dict:
    """Load the OpenAPI YAML document as plain dicts and lists."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml is ~10x faster when present
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=loader)


def resolve(spec: dict, node: Any) -> Any:
    """Follow `$ref` pointers (`#/components/...`) until a concrete node is reached."""
    seen: set[str] = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if ref in seen or not ref.startswith("#/"):
            raise ValueError(f"cannot resolve $ref {ref!r}")
        seen.add(ref)
        node = spec
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def ref_name(node: Any) -> str | None:
    """The last segment of a `$ref` (e.g. `Status`), or None for an inline node."""
    if isinstance(node, dict) and isinstance(node.get("$ref"), str):
        return node["$ref"].rsplit("/", 1)[-1]
    return None


def match_path(spec: dict, path: str) -> tuple[str, dict[str, str]] | None:
    """Map a concrete path (with or without /api/v2) to its spec template and path parameters."""
    path = urlsplit(path).path
    if path.startswith(BASE_PATH):
        path = path[len(BASE_PATH) :] or "/"
    # Literal templates win over parameterised ones (/studies/metadata is not an nctId).
    templates = sorted(spec.get("paths", {}), key=lambda t: ("{" in t, t))
    for template in templates:
        names = re.findall(r"\{([^}]+)\}", template)
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(template)) + "$"
        m = re.match(pattern, path)
        if m:
            return template, dict(zip(names, m.groups(), strict=True))
    return None


def operation_parameters(spec: dict, template: str, method: str = "get") -> list[dict]:
    """The resolved parameter objects of one operation (path-level ones included)."""
    item = spec["paths"][template]
    params = [resolve(spec, p) for p in item.get("parameters", [])]
    params += [resolve(spec, p) for p in item.get(method, {}).get("parameters", [])]
    return params


def validate_request(spec: dict, path: str, params: list[tuple[str, str]]) -> list[str]:
    """Problems of a GET request against the spec; an empty list means valid."""
    found = match_path(spec, path)
    if found is None:
        return [f"path {path!r} is not in the OpenAPI document"]
    template, path_values = found
    if "get" not in spec["paths"][template]:
        return [f"{template} has no GET operation"]
    declared = operation_parameters(spec, template)
    query_defs = {p["name"]: p for p in declared if p.get("in") == "query"}
    problems: list[str] = []
    for p in declared:
        if p.get("in") == "path":
            value = path_values.get(p["name"])
            problems += [f"{template} {msg}" for msg in check_value(spec, p, value or "")]
    counts = Counter(name for name, _ in params)
    for name, n in counts.items():
        if name in query_defs and n > 1:
            problems.append(f"{template}: parameter {name!r} given {n} times")
    for name, value in params:
        definition = query_defs.get(name)
        if definition is None:
            problems.append(f"{template}: unknown parameter {name!r}")
            continue
        problems += [f"{template} {msg}" for msg in check_value(spec, definition, value)]
    for name, definition in query_defs.items():
        if definition.get("required") and name not in counts:
            problems.append(f"{template}: required parameter {name!r} missing")
    return problems


def validate_url(spec: dict, url: str) -> list[str]:
    """`validate_request` for a full URL (path plus query string)."""
    parts = urlsplit(url)
    return validate_request(spec, parts.path, parse_qsl(parts.query, keep_blank_values=True))


def check_value(spec: dict, parameter: dict, value: str) -> list[str]:
    """Problems of one serialized parameter value against the parameter's schema."""
    schema = resolve(spec, parameter.get("schema", {}))
    label = f"parameter {parameter['name']!r}"
    if schema.get("type") == "array":
        items = [v.strip() for v in _LIST_SEPARATOR.split(value)] if value else []
        items = [v for v in items if v]
        problems = []
        if "minItems" in schema and len(items) < schema["minItems"]:
            problems.append(f"{label}: needs at least {schema['minItems']} item(s)")
        if "maxItems" in schema and len(items) > schema["maxItems"]:
            problems.append(f"{label}: allows at most {schema['maxItems']} item(s)")
        item_schema = resolve(spec, schema.get("items", {}))
        for item in items:
            problems += _check_scalar(item_schema, item, label)
        return problems
    return _check_scalar(schema, value, label)


def _check_scalar(schema: dict, value: str, label: str) -> list[str]:
    """Problems of one scalar value (string, integer, number or boolean schema)."""
    kind = schema.get("type", "string")
    if kind == "boolean":
        return [] if value in ("true", "false") else [f"{label}: {value!r} is not true/false"]
    if kind in ("integer", "number"):
        return _check_number(schema, value, label, integer=kind == "integer")
    problems = []
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{label}: {value!r} is not one of {schema['enum']}")
    # OpenAPI patterns are ECMA regexes, unanchored unless they say ^...$ (re.search semantics).
    if "pattern" in schema and not re.search(schema["pattern"], value):
        problems.append(f"{label}: {value!r} does not match {schema['pattern']!r}")
    if "minLength" in schema and len(value) < schema["minLength"]:
        problems.append(f"{label}: {value!r} shorter than {schema['minLength']}")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        problems.append(f"{label}: {value!r} longer than {schema['maxLength']}")
    return problems


def _check_number(schema: dict, value: str, label: str, *, integer: bool) -> list[str]:
    """Problems of an integer/number value, including minimum/maximum and int32 range."""
    try:
        number = int(value) if integer else float(value)
    except ValueError:
        return [f"{label}: {value!r} is not an {'integer' if integer else 'number'}"]
    problems = []
    low, high = schema.get("minimum"), schema.get("maximum")
    if integer and schema.get("format") == "int32":
        low = _INT32[0] if low is None else max(low, _INT32[0])
        high = _INT32[1] if high is None else min(high, _INT32[1])
    if low is not None and number < low:
        problems.append(f"{label}: {value} is below the minimum {low}")
    if high is not None and number > high:
        problems.append(f"{label}: {value} is above the maximum {high}")
    return problems
