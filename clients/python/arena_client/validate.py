"""Local validation of events against the JSON Schemas bundled with this package.

The schemas in ``arena_client/schemas`` are copies of the repository's ``schemas/``
(a test fails when they drift). This module implements exactly the part of JSON Schema
(draft 2020-12) those files use; a schema with any other keyword is refused when it is
loaded, so a new keyword cannot be ignored silently:

- assertions: ``type``, ``required``, ``properties``, ``items``, ``minItems``,
  ``maxItems``, ``minLength``, ``maxLength``, ``minimum``, ``maximum``, ``pattern``,
  ``const``, ``enum``, ``not``, ``allOf``, ``if``/``then``/``else``, ``$ref``, ``format``
  (``date-time`` only);
- annotations, ignored: ``$schema``, ``$id``, ``$comment``, ``title``, ``description``.

Where ingest is stricter than JSON Schema can say (the ``$comment`` of
``envelope.schema.json``), this validator follows ingest, so that what passes here is
accepted there:

- ``integer`` means a Python ``int`` (not ``bool``, not ``float``): ``1.0`` would be
  written as ``1.0``, which ingest refuses for an integer;
- ``number`` means a finite ``int`` or ``float`` (not ``bool``);
- ``date-time`` also checks that a second 60 is 23:59:60 in UTC and that the instant lies
  within years 1 to 9999 in UTC.

Errors name the field as ingest does: ``payload.results[0].rank``; ``""`` is the event.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
from pathlib import Path
from typing import Any, Dict, Iterable, List, NamedTuple, Optional
from urllib.parse import urljoin

__all__ = ["FieldError", "SchemaSet", "validate_event", "default_schemas", "SCHEMA_DIR"]

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"

_ANNOTATIONS = {"$schema", "$id", "$comment", "title", "description"}
_ASSERTIONS = {
    "type", "required", "properties", "items", "minItems", "maxItems", "minLength", "maxLength",
    "minimum", "maximum", "pattern", "const", "enum", "not", "allOf", "if", "then", "else", "$ref", "format",
}
_SUBSCHEMA_MAPS = ("properties",)
_SUBSCHEMAS = ("items", "not", "if", "then", "else")
_SUBSCHEMA_LISTS = ("allOf",)


class FieldError(NamedTuple):
    """One problem with one event: ``field`` as ingest names it, ``message`` in words."""

    field: str
    message: str


class SchemaError(ValueError):
    """A schema uses something this validator does not implement."""


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _is_type(value: Any, name: str) -> bool:
    actual = _json_type(value)
    if name == "number":
        return actual == "integer" or (actual == "number" and math.isfinite(value))
    return actual == name


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: 1 == 1.0, but true != 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def _child(path: str, key: str) -> str:
    return key if path == "" else f"{path}.{key}"


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, float) or math.isfinite(value) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


_DATE_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?"
    r"(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))\Z",
    re.ASCII,
)


def _date_time_problem(text: str) -> Optional[str]:
    """What ingest refuses in a date-time that the schema's pattern lets through, if anything."""
    match = _DATE_TIME.match(text)
    if match is None:
        return "is not an RFC 3339 date-time"
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    offset = 0
    if match.group(7) is not None:
        offset = (int(match.group(8)) * 60 + int(match.group(9))) * (1 if match.group(7) == "+" else -1)
    # Minutes since 0001-01-01T00:00 local, then in UTC; days from a proleptic Gregorian count.
    try:
        local_day = _dt.date(year, month, day).toordinal() if year >= 1 else None
    except ValueError:
        return "is not a day of its month"
    if local_day is None:
        return "is before year 1"
    utc_minutes = (local_day - 1) * 1440 + hour * 60 + minute - offset
    if second == 60 and utc_minutes % 1440 != 23 * 60 + 59:
        return "has second 60, which is only the leap second 23:59:60 UTC"
    last_minute = (_dt.date(9999, 12, 31).toordinal()) * 1440  # 10000-01-01T00:00 UTC
    if utc_minutes < 0 or utc_minutes >= last_minute:
        return "is outside years 1 to 9999 in UTC"
    return None


class SchemaSet:
    """Schemas by ``$id``; validates an instance against one of them."""

    def __init__(self, schemas: Iterable[Dict[str, Any]]):
        self._by_id: Dict[str, Dict[str, Any]] = {}
        self._patterns: Dict[str, "re.Pattern[str]"] = {}
        for schema in schemas:
            schema_id = schema.get("$id")
            if not isinstance(schema_id, str):
                raise SchemaError("every schema needs an absolute $id")
            self._check(schema, schema_id)
            self._by_id[schema_id] = schema

    @classmethod
    def load(cls, directory: Path = SCHEMA_DIR) -> "SchemaSet":
        files = sorted(Path(directory).rglob("*.schema.json"))
        if not files:
            raise SchemaError(f"no *.schema.json under {directory}")
        return cls(json.loads(f.read_text(encoding="utf-8")) for f in files)

    def ids(self) -> List[str]:
        return sorted(self._by_id)

    def _check(self, schema: Any, where: str) -> None:
        if isinstance(schema, bool):
            return
        if not isinstance(schema, dict):
            raise SchemaError(f"{where}: a schema must be an object or a boolean")
        for keyword, value in schema.items():
            if keyword in _ANNOTATIONS:
                continue
            if keyword not in _ASSERTIONS:
                raise SchemaError(f"{where}: keyword '{keyword}' is not implemented by arena_client.validate")
            if keyword == "format" and value != "date-time":
                raise SchemaError(f"{where}: format '{value}' is not implemented")
            if keyword == "pattern":
                self._patterns.setdefault(value, re.compile(value))
            if keyword in _SUBSCHEMA_MAPS:
                for name, sub in value.items():
                    self._check(sub, f"{where}/{keyword}/{name}")
            elif keyword in _SUBSCHEMAS:
                self._check(value, f"{where}/{keyword}")
            elif keyword in _SUBSCHEMA_LISTS:
                for i, sub in enumerate(value):
                    self._check(sub, f"{where}/{keyword}/{i}")

    def validate(self, instance: Any, schema_id: str) -> List[FieldError]:
        """Every problem of ``instance`` against the schema ``schema_id`` (an ``$id``); empty when valid."""
        errors: List[FieldError] = []
        self._validate(instance, self._by_id[schema_id], schema_id, "", errors)
        # The envelope and a payload schema may both say the same thing about one field.
        return list(dict.fromkeys(errors))

    def _resolve(self, base: str, ref: str) -> "tuple[Dict[str, Any], str]":
        target = urljoin(base, ref)
        if target not in self._by_id:
            raise SchemaError(f"$ref '{ref}' from {base} names no bundled schema")
        return self._by_id[target], target

    def _validate(self, value: Any, schema: Any, base: str, path: str, errors: List[FieldError]) -> None:
        if schema is True:
            return
        if schema is False:
            errors.append(FieldError(path, "must not be present"))
            return
        base = schema.get("$id", base)

        if "$ref" in schema:
            target, target_base = self._resolve(base, schema["$ref"])
            self._validate(value, target, target_base, path, errors)

        if "type" in schema:
            names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            if not any(_is_type(value, n) for n in names):
                errors.append(FieldError(path, f"must be {' or '.join(names)} (got {_json_type(value)})"))
                return

        if "const" in schema and not _equal(value, schema["const"]):
            errors.append(FieldError(path, f"must be {_short(schema['const'])}"))
        if "not" in schema:
            negated = schema["not"]
            if negated == {} or negated is True:
                errors.append(FieldError(path, "must not be present"))
            elif not self._errors(value, negated, base, path):
                if isinstance(negated, dict) and "const" in negated:
                    errors.append(FieldError(path, f"must not be {_short(negated['const'])} (reserved)"))
                elif isinstance(negated, dict) and "enum" in negated:
                    errors.append(FieldError(path, f"must not be {_short(value)} (reserved)"))
                elif isinstance(negated, dict) and negated.get("type") == "null":
                    errors.append(FieldError(path, "must not be null"))
                else:
                    errors.append(FieldError(path, "must not match the schema under 'not'"))
        if "enum" in schema and not any(_equal(value, e) for e in schema["enum"]):
            errors.append(FieldError(path, f"must be one of {_short(schema['enum'])}"))

        if isinstance(value, str):
            length = len(value)  # code points, as JSON Schema counts
            if "minLength" in schema and length < schema["minLength"]:
                errors.append(FieldError(path, "must not be empty" if schema["minLength"] == 1
                                         else f"must be at least {schema['minLength']} characters (got {length})"))
            if "maxLength" in schema and length > schema["maxLength"]:
                errors.append(FieldError(path, f"must be at most {schema['maxLength']} characters (got {length})"))
            if "pattern" in schema and not self._patterns[schema["pattern"]].search(value):
                if schema.get("format") == "date-time":
                    errors.append(FieldError(path, f"{_short(value)} is not an RFC 3339 date-time"))
                else:
                    errors.append(FieldError(path, f"{_short(value)} does not match {schema['pattern']}"))
            elif schema.get("format") == "date-time":
                problem = _date_time_problem(value)
                if problem is not None:
                    errors.append(FieldError(path, f"{_short(value)} {problem}"))

        if _is_type(value, "number"):
            if "minimum" in schema and value < schema["minimum"]:
                errors.append(FieldError(path, f"must be at least {schema['minimum']} (got {_short(value)})"))
            if "maximum" in schema and value > schema["maximum"]:
                errors.append(FieldError(path, f"must be at most {schema['maximum']} (got {_short(value)})"))

        if isinstance(value, dict):
            for name in schema.get("required", []):
                if name not in value:
                    errors.append(FieldError(_child(path, name), "is required"))
            for name, sub in schema.get("properties", {}).items():
                if name in value:
                    self._validate(value[name], sub, base, _child(path, name), errors)

        if isinstance(value, (list, tuple)):
            if "minItems" in schema and len(value) < schema["minItems"]:
                errors.append(FieldError(path, f"must have at least {schema['minItems']} items (got {len(value)})"))
            if "maxItems" in schema and len(value) > schema["maxItems"]:
                errors.append(FieldError(path, f"must have at most {schema['maxItems']} items (got {len(value)})"))
            if "items" in schema:
                for i, item in enumerate(value):
                    self._validate(item, schema["items"], base, f"{path}[{i}]", errors)

        if "if" in schema:
            branch = "then" if not self._errors(value, schema["if"], base, path) else "else"
            if branch in schema:
                self._validate(value, schema[branch], base, path, errors)
        for sub in schema.get("allOf", []):
            self._validate(value, sub, base, path, errors)

    def _errors(self, value: Any, schema: Any, base: str, path: str) -> List[FieldError]:
        found: List[FieldError] = []
        self._validate(value, schema, base, path, found)
        return found


_DEFAULT: Optional[SchemaSet] = None
ENVELOPE_ID = "https://arena.dev/schemas/envelope.schema.json"


def default_schemas() -> SchemaSet:
    """The schemas bundled with this package, loaded once."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = SchemaSet.load()
    return _DEFAULT


def validate_event(event: Any, schemas: Optional[SchemaSet] = None) -> List[FieldError]:
    """Every problem of one envelope (as it would be POSTed) against the bundled schemas; empty when valid.

    Unknown types and schema versions newer than 1 are checked on their envelope alone,
    as ingest does.
    """
    return (schemas or default_schemas()).validate(event, ENVELOPE_ID)
