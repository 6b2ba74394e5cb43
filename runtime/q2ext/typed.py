"""JSON objects to typed dataclasses and back, with errors that name the field (adapters, audit actions)."""

from __future__ import annotations

import dataclasses
import types
import typing
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar, Union

T = TypeVar("T")


def from_json(cls: type[T], data: Any, where: str = "request") -> T:
    """Build dataclass `cls` from a JSON object; ValueError says which field is missing, unknown or mistyped."""
    if not isinstance(data, dict):
        raise ValueError(f"{where} must be a JSON object with the fields of {cls.__name__}")  # noqa: TRY004
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"{where} has unknown field {unknown[0]!r} ({cls.__name__} fields: {', '.join(fields)})")
    values = {}
    for name, spec in fields.items():
        if name in data:
            values[name] = _coerce(hints[name], data[name], f"{where}.{name}")
        elif spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
            raise ValueError(f"{where} is missing the required field {name!r} ({cls.__name__})")
    return cls(**values)


def _coerce(hint: Any, value: Any, where: str) -> Any:
    """One JSON value as the annotated type (str, int, float, bool, Decimal, Optional, list, dict, dataclass)."""
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return None if value is None else _coerce(args[0], value, where)
    if origin is list:
        if not isinstance(value, list):
            raise ValueError(f"{where} must be a list")
        (item,) = typing.get_args(hint) or (Any,)
        return [_coerce(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            raise ValueError(f"{where} must be a JSON object")
        return value
    if dataclasses.is_dataclass(hint):
        return from_json(hint, value, where)
    if hint is Decimal:
        return _decimal(value, where)
    if hint is bool:
        return value if isinstance(value, bool) else _bad(where, "true or false")
    if hint is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else _bad(where, "a whole number")
    if hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return float(value) if ok else _bad(where, "a number")
    if hint is str:
        return value if isinstance(value, str) else _bad(where, "a string")
    return value


def _decimal(value: Any, where: str) -> Decimal:
    """Money arrives as a JSON number or string ("12.50"); either becomes an exact Decimal."""
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        try:
            return Decimal(str(value))
        except InvalidOperation:
            pass
    return _bad(where, 'a number (e.g. 12.50 or "12.50")')


def _bad(where: str, expected: str) -> Any:
    raise ValueError(f"{where} must be {expected}")


def to_json(value: Any) -> Any:
    """Dataclasses (and lists of them) as plain JSON values; Decimal as a string so money keeps its digits."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, Decimal):
        return str(value)
    return value


def describe(cls: type) -> dict[str, str]:
    """Field name -> type name of a dataclass (what GET on an adapter shows)."""
    hints = typing.get_type_hints(cls)
    return {f.name: _type_name(hints[f.name]) for f in dataclasses.fields(cls)}


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) if typing.get_origin(hint) is None else str(hint).replace("typing.", "")
