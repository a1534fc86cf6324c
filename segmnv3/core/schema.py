"""Strict typed configs: dataclasses built from YAML-like dicts, unknown keys an error.

Every config section is a dataclass with the paper's recipe as defaults that validates
itself in ``__post_init__``; ``from_dict`` converts YAML values to the annotated types
(tuples from lists, floats from ints, ``Literal`` choices checked) and names the source
and key of anything it cannot use. A typo never silently falls back to a default.
``to_plain`` is the inverse: ``from_dict(cls, to_plain(value)) == value``.

Two hooks keep a JSON form that is not a mirror of the dataclass:

* a class with a ``to_plain()`` method and a ``from_plain(value)`` classmethod is stored
  as whatever they make (``Backend`` as its name);
* a field with ``metadata=FLAT`` is stored in its parent's mapping: a dataclass field's
  keys sit beside the parent's own, and a ``dict`` field takes every key the parent's
  other fields do not name.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from typing import Any, TypeVar

import yaml

from segmnv3.core.errors import ConfigError

T = TypeVar("T")

FLAT = {"flat": True}
"""Field metadata: store this field's keys in the parent mapping (see the module docstring)."""


def _is_flat(field: dataclasses.Field) -> bool:
    return bool(field.metadata.get("flat"))


class _Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` reading numbers by YAML 1.2: ``1e-3``, ``5E6``, ``1.e+3`` are
    floats (YAML 1.1, which PyYAML follows, wants a dot and a signed exponent)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        """A mapping, refusing a key written twice (PyYAML keeps the last one silently)."""
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise DuplicateKeyError(key, seen[key], line, key_node.start_mark)
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


_MERGE_TAG = "tag:yaml.org,2002:merge"


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A mapping key written twice in one YAML mapping; its text is one line naming the key
    and both lines."""

    def __init__(self, key: Any, first: int, second: int, mark: yaml.Mark) -> None:
        problem = (
            f"duplicate key {key!r} on lines {first} and {second}: "
            "YAML would silently keep the last one; remove or merge one of them"
        )
        super().__init__(problem=problem, problem_mark=mark)

    def __str__(self) -> str:
        return str(self.problem)


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[0-9]+[eE][-+]?[0-9]+)$"),
    list("-+0123456789."),
)


def load_yaml(text: str) -> Any:
    """Parse YAML safely (no Python tags), numbers by YAML 1.2 rules; ``yaml.YAMLError``
    on bad syntax or a key written twice in one mapping (:class:`DuplicateKeyError`).
    The one YAML reader of configs, ``--set`` values and ``labels.yaml``."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


def from_dict(cls: type[T], data: Any, *, source: str = "<dict>", prefix: str = "") -> T:
    """Build dataclass ``cls`` from a (possibly partial) nested dict.

    Args:
        cls: a dataclass whose fields carry type hints.
        data: a mapping of field name -> value (nested mappings for nested dataclasses).
        source: where ``data`` came from, for error messages (a file name, ``--set``).
        prefix: dotted key of ``data`` inside the whole config, e.g. ``"model."``.

    Raises:
        ConfigError: unknown keys, values of the wrong type, or a value the dataclass's
            own validation (``__post_init__``) rejects.
    """
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}: {prefix.rstrip('.') or 'config'} must be a mapping, got {data!r}"
        )
    hints = typing.get_type_hints(cls)
    data = _unflatten(cls, hints, data)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(
            f"{source}: unknown key(s) {unknown} in {prefix or 'top level'}; "
            f"allowed: {sorted(names)}"
        )
    kwargs = {
        name: _coerce(hints[name], value, source, f"{prefix}{name}") for name, value in data.items()
    }
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{source}: {prefix.rstrip('.') or 'config'}: {error}") from None


def to_plain(value: Any) -> Any:
    """A dataclass (or nested values) as plain dicts and lists: YAML/JSON-safe."""
    if hasattr(value, "to_plain") and not isinstance(value, type):
        return value.to_plain()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        plain: dict[str, Any] = {}
        for field in dataclasses.fields(value):
            item = to_plain(getattr(value, field.name))
            if _is_flat(field):
                plain.update(item)
            else:
                plain[field.name] = item
        return plain
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    return value


def _unflatten(cls: type, hints: dict[str, Any], data: dict) -> dict:
    """``data`` with the keys of each ``FLAT`` field gathered under that field's name."""
    fields = dataclasses.fields(cls)
    flat = [f for f in fields if _is_flat(f)]
    if not flat:
        return data
    data = dict(data)
    own = {f.name for f in fields if not _is_flat(f)}
    for field in flat:
        hint = hints[field.name]
        if dataclasses.is_dataclass(hint):
            keys = {f.name for f in dataclasses.fields(hint)}
        else:  # a mapping: every key no other field names
            keys = set(data) - own - {f.name for f in flat}
        data[field.name] = {k: data.pop(k) for k in list(data) if k in keys}
    return data


def _coerce(hint: Any, value: Any, source: str, key: str) -> Any:
    """Convert a YAML value to the annotated type, or raise ConfigError naming ``key``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if isinstance(hint, type) and hasattr(hint, "from_plain"):
        try:
            return hint.from_plain(value)
        except (TypeError, ValueError) as error:
            raise ConfigError(f"{source}: {key}: {error}") from None
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, source=source, prefix=f"{key}.")
    if origin in (typing.Union, types.UnionType):
        return _coerce_union(args, value, source, key)
    if origin is typing.Literal:
        if value not in args or isinstance(value, bool) != any(isinstance(a, bool) for a in args):
            raise ConfigError(f"{source}: {key}={value!r} is not one of {list(args)}")
        return value
    if origin in (tuple, list):
        return _coerce_sequence(origin, args, value, source, key)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: {key} must be a mapping, got {value!r}")
        key_hint, value_hint = args or (Any, Any)
        return {
            _coerce(key_hint, k, source, key): _coerce(value_hint, v, source, f"{key}.{k}")
            for k, v in value.items()
        }
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float, str, bool) and (
        not isinstance(value, hint) or (hint is int and isinstance(value, bool))
    ):
        raise ConfigError(f"{source}: {key} must be {hint.__name__}, got {value!r}")
    return value


def _coerce_union(args: tuple, value: Any, source: str, key: str) -> Any:
    if value is None and type(None) in args:
        return None
    errors = []
    for arg in (a for a in args if a is not type(None)):
        try:
            return _coerce(arg, value, source, key)
        except ConfigError as error:
            errors.append(str(error))
    raise ConfigError(errors[0] if errors else f"{source}: {key}: cannot use {value!r}")


def _coerce_sequence(origin: type, args: tuple, value: Any, source: str, key: str) -> Any:
    if not isinstance(value, list | tuple):
        raise ConfigError(f"{source}: {key} must be a list, got {value!r}")
    if origin is list:
        return [_coerce(args[0], v, source, key) for v in value] if args else list(value)
    inner = args if args and args[-1] is not Ellipsis else (args[0],) * len(value)
    if len(inner) != len(value):
        raise ConfigError(f"{source}: {key} must have {len(inner)} items, got {value!r}")
    return tuple(_coerce(a, v, source, key) for a, v in zip(inner, value, strict=True))
