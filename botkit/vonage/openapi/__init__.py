"""The provider's OpenAPI contract, read from the YAML files shipped beside this module.

:func:`load_spec` parses one of the files, applies every fix in
:mod:`botkit.vonage.openapi.patches` (the one place where the public specs' known mistakes are
corrected) and caches the result. :func:`resolve` follows ``$ref`` pointers, :func:`inline`
replaces them all, and :func:`to_json_schema` turns an OpenAPI 3.0 schema object into a JSON
Schema 2020-12 document that :mod:`jsonschema` can check payloads against.
"""

from __future__ import annotations

import copy
import posixpath
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any, Literal, get_args

import yaml

from botkit.vonage.openapi.patches import apply_patches

SpecName = Literal["messages-v1", "messages-v0.1", "sms", "dispatch", "application"]
"""The specs botkit ships, by the name :func:`load_spec` takes."""

SPEC_NAMES: tuple[SpecName, ...] = get_args(SpecName)

SPEC_FILES: Mapping[SpecName, str] = {
    "messages-v1": "messages-olympus.yml",
    "messages-v0.1": "messages-olympus.v0.yml",
    "sms": "sms.yml",
    "dispatch": "dispatch.yml",
    "application": "application.v2.yml",
}
"""Each spec's file, relative to this package."""

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class _JsonValuesLoader(yaml.SafeLoader):
    """A safe loader that keeps unquoted dates as strings.

    The specs describe JSON payloads, where a timestamp is a string; plain YAML would turn an
    unquoted ``example: 2020-01-01T14:00:00.000Z`` into a ``datetime``.
    """


_JsonValuesLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@cache
def _document(path: str) -> dict[str, Any]:
    """One YAML file of this package, parsed and unpatched (cached; never hand it out)."""
    text = resources.files(__package__).joinpath(path).read_text(encoding="utf-8")
    data = yaml.load(text, Loader=_JsonValuesLoader)
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a YAML mapping")
    return data


@cache
def _patched(name: SpecName) -> dict[str, Any]:
    spec = copy.deepcopy(_document(SPEC_FILES[name]))
    apply_patches(name, spec)
    return spec


def load_spec(name: SpecName) -> dict[str, Any]:
    """Return spec ``name`` with every patch for it applied and its ``$ref``s left in place.

    The file is parsed and patched once per process; each call returns a fresh deep copy, so the
    caller may change it freely. Unquoted dates in the YAML stay strings, as they would in JSON.
    Raises :class:`KeyError` for an unknown name and
    :class:`~botkit.vonage.openapi.patches.PatchMismatchError` if a patch no longer fits its file.
    """
    return copy.deepcopy(_patched(name))


def resolve(spec: Mapping[str, Any], node: Any) -> Any:
    """Follow ``node``'s ``$ref`` (and the ref it lands on, and so on) and return the target.

    A node without ``$ref`` is returned as it is. Local refs (``#/components/schemas/X``) are
    looked up in ``spec``; a ref into another file of this package
    (``common/common_errors.yml#/components/schemas/instance``) is looked up in that file, and the
    refs inside the returned node are rewritten to keep pointing into it, so they resolve
    against ``spec`` too. Siblings of ``$ref`` are ignored, as in OpenAPI 3.0. Raises
    :class:`KeyError` for a target that does not exist and :class:`ValueError` for a cycle.
    """
    seen: set[str] = set()
    while isinstance(node, Mapping) and "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str):
            raise ValueError(f"$ref must be a string, not {ref!r}")
        if ref in seen:
            raise ValueError(f"$ref cycle through {ref}")
        seen.add(ref)
        node = _target(spec, ref)
    return node


def inline(spec: Mapping[str, Any], node: Any) -> Any:
    """Return a deep copy of ``node`` with every ``$ref`` replaced by its target, recursively.

    Raises :class:`ValueError` when a schema refers to itself (directly or not), since such a
    schema has no finite inlined form.
    """
    return _inline(spec, node, ())


def to_json_schema(spec: Mapping[str, Any], schema: Any) -> dict[str, Any]:
    """Convert an OpenAPI 3.0 schema object of ``spec`` into a JSON Schema 2020-12 document.

    Refs are inlined; ``nullable: true`` adds ``"null"`` to ``type`` (and ``None`` to ``enum``);
    the boolean ``exclusiveMinimum``/``exclusiveMaximum`` of OpenAPI 3.0 become the numeric
    keywords of 2020-12. ``example`` and ``x-*`` keys stay: JSON Schema ignores them.
    """
    converted = _convert(inline(spec, schema))
    if not isinstance(converted, dict):
        raise ValueError("a schema must be an object")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **converted}


def _target(spec: Mapping[str, Any], ref: str) -> Any:
    path, _, pointer = ref.partition("#")
    if not path:
        return _follow_pointer(spec, pointer, ref)
    return _rebase(_follow_pointer(_document(path), pointer, ref), path)


def _follow_pointer(document: Any, pointer: str, ref: str) -> Any:
    node = document
    for raw in pointer.split("/")[1:] if pointer else []:
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise KeyError(f"$ref {ref} does not resolve (no {token!r})")
    return node


def _rebase(node: Any, path: str) -> Any:
    """Copy ``node`` from file ``path`` with its refs made relative to this package's root."""
    if isinstance(node, list):
        return [_rebase(item, path) for item in node]
    if not isinstance(node, Mapping):
        return node
    rebased = {key: _rebase(value, path) for key, value in node.items()}
    ref = rebased.get("$ref")
    if isinstance(ref, str):
        ref_path, _, pointer = ref.partition("#")
        if not ref_path:
            rebased["$ref"] = f"{path}#{pointer}"
        else:
            joined = posixpath.normpath(posixpath.join(posixpath.dirname(path), ref_path))
            rebased["$ref"] = f"{joined}#{pointer}"
    return rebased


def _inline(spec: Mapping[str, Any], node: Any, stack: tuple[str, ...]) -> Any:
    if isinstance(node, list):
        return [_inline(spec, item, stack) for item in node]
    if not isinstance(node, Mapping):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        if ref in stack:
            raise ValueError(f"$ref cycle: {' -> '.join((*stack, ref))}")
        return _inline(spec, _target(spec, ref), (*stack, ref))
    return {key: _inline(spec, value, stack) for key, value in node.items()}


_SUBSCHEMA_LISTS = ("allOf", "oneOf", "anyOf")
_SUBSCHEMA_MAPS = ("properties", "patternProperties")
_SUBSCHEMAS = ("items", "additionalProperties", "not")


def _convert(schema: Any) -> Any:
    """Convert one schema object, descending only where a value is itself a schema."""
    if not isinstance(schema, Mapping):
        return schema
    out = dict(schema)
    for key in _SUBSCHEMA_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [_convert(item) for item in out[key]]
    for key in _SUBSCHEMA_MAPS:
        if isinstance(out.get(key), Mapping):
            out[key] = {name: _convert(sub) for name, sub in out[key].items()}
    for key in _SUBSCHEMAS:
        if key in out:
            out[key] = _convert(out[key])
    if out.pop("nullable", False) is True:
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        flag = out.get(bound)
        if isinstance(flag, bool):
            del out[bound]
            if flag and limit in out:
                out[bound] = out.pop(limit)
    return out
