"""JSONPath-mode values and payload templates, compiled to ``Scope -> value`` functions.

A *value* is what a ``"key.$"`` field holds: an input path (``$.a``), a context path
(``$$.Execution.Id``), a variable path (``$name.a[0]``) or an intrinsic call
(``States.Format(...)``). A *payload template* (``Parameters``, ``ResultSelector``,
``ItemSelector``, JSONPath ``Assign``) is any JSON whose ``"key.$"`` entries are values.

Ownership: a compiled template returns a *fresh* container spine on every call (literal
objects/arrays are deep-copied), so callers may mutate what they get. Values selected by paths
are shared with the document they came from; nothing in the runtime mutates documents in place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from alpha_engine.sfn._errors import ExpressionError, StatesError
from alpha_engine.sfn._json import compact_json
from alpha_engine.sfn._jsonpath import (
    CompiledPath,
    PathNotFound,
    compile_path,
    compile_reference_path,
    split_scoped_path,
)
from alpha_engine.sfn._vocabulary import is_intrinsic

__all__ = [
    "Scope",
    "ScopedPath",
    "ValueFn",
    "compile_scoped_path",
    "compile_template",
    "compile_value",
    "deep_copy_json",
    "value_not_found",
]


@dataclass(frozen=True, slots=True)
class Scope:
    """What a JSONPath-mode expression can see."""

    input: Any  # '$' — the document being processed at that step
    context: Mapping[str, Any]  # '$$' — the context object (Execution, State, StateMachine, Task, Map)
    variables: Mapping[str, Any]  # '$name' — workflow variables visible in this scope


ValueFn = Callable[[Scope], Any]


class ScopedPath:
    """A path whose root may be ``$`` (input), ``$$`` (context) or ``$name`` (a variable).

    ``find(scope)`` raises :class:`PathNotFound` (with the path as written) when nothing is
    selected or the variable is not defined; callers format the AWS message for their field.
    """

    __slots__ = ("text", "kind", "variable", "path", "is_definite")

    def __init__(self, text: str, kind: str, variable: str | None, path: CompiledPath) -> None:
        self.text = text
        self.kind = kind
        self.variable = variable
        self.path = path
        self.is_definite = path.is_definite

    def find(self, scope: Scope) -> Any:
        kind = self.kind
        try:
            if kind == "input":
                return self.path.find(scope.input)
            if kind == "context":
                return self.path.find(scope.context)
            variables = scope.variables
            name = self.variable or ""
            if name not in variables:
                raise PathNotFound(self.text)
            return self.path.find(variables[name])
        except PathNotFound as exc:
            if exc.path_text != self.text:
                raise PathNotFound(self.text) from None
            raise

    def __repr__(self) -> str:
        return f"ScopedPath({self.text!r})"


def compile_scoped_path(text: str, *, reference: bool = False) -> ScopedPath:
    """Compile an input, context or variable path (``InputPath``, ``ItemsPath``, Choice
    ``Variable``...). With ``reference`` the path must name a single node."""
    kind, variable, rest = split_scoped_path(text)
    try:
        path = compile_reference_path(rest) if reference else compile_path(rest)
    except ExpressionError as exc:
        raise ExpressionError(str(exc).replace(f"'{rest}'", f"'{text}'", 1), text) from None
    return ScopedPath(text, kind, variable, path)


def value_not_found(path_text: str, field: str, scope: Scope) -> StatesError:
    """AWS's error when a ``.$`` value (or ErrorPath/CausePath) selects nothing."""
    return StatesError(
        "States.Runtime",
        f"The JSONPath '{path_text}' specified for the field '{field}' could not be found in "
        f"the input '{compact_json(scope.input)}'",
    )


def compile_value(text: str, field: str) -> ValueFn:
    """The value of a ``'.$'`` key, or of a ``*Path`` field that allows intrinsics.

    ``text`` is ``$...`` (input), ``$$...`` (context), ``$name...`` (variable) or
    ``States.X(...)``. ``field`` names the field in AWS error messages (``'value.$'``,
    ``'ErrorPath'``).
    """
    # Imported here: _intrinsics compiles its path arguments with compile_value.
    from alpha_engine.sfn._intrinsics import compile_intrinsic

    if not isinstance(text, str):
        raise ExpressionError(f"The value of field '{field}' must be a string path or intrinsic", str(text))
    if is_intrinsic(text):
        return compile_intrinsic(text, field)
    if not text.startswith("$"):
        raise ExpressionError(
            f"The value of field '{field}' must be a JSONPath or an intrinsic function: {text!r}", text
        )
    scoped = compile_scoped_path(text)
    kind, variable, path = scoped.kind, scoped.variable, scoped.path

    # One closure per root kind keeps the hot path to a single find() call.
    if kind == "input":
        find = path.find

        def input_value(scope: Scope) -> Any:
            try:
                return find(scope.input)
            except PathNotFound:
                raise value_not_found(text, field, scope) from None

        return input_value
    if kind == "context":
        find = path.find

        def context_value(scope: Scope) -> Any:
            try:
                return find(scope.context)
            except PathNotFound:
                raise value_not_found(text, field, scope) from None

        return context_value

    name = variable or ""

    def variable_value(scope: Scope) -> Any:
        try:
            return path.find(scope.variables[name])
        except (PathNotFound, KeyError):
            raise value_not_found(text, field, scope) from None

    return variable_value


def deep_copy_json(value: Any) -> Any:
    """Copy a JSON value; faster than ``copy.deepcopy`` because it knows the types."""
    if isinstance(value, dict):
        return {k: deep_copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [deep_copy_json(v) for v in value]
    return value


def _has_dynamic(template: Any) -> bool:
    if isinstance(template, dict):
        return any((isinstance(k, str) and k.endswith(".$")) or _has_dynamic(v) for k, v in template.items())
    if isinstance(template, list):
        return any(_has_dynamic(v) for v in template)
    return False


def _literal(value: Any) -> ValueFn:
    if isinstance(value, (dict, list)):
        return lambda _scope: deep_copy_json(value)
    return lambda _scope: value


def compile_template(template: Any, field: str) -> ValueFn:
    """Compile a payload template (``Parameters``, ``ResultSelector``, ``ItemSelector``, ``Assign``).

    Objects and arrays are walked; a key ending in ``.$`` is evaluated with
    :func:`compile_value` and stored without the ``.$``; anything else is a literal. Every call
    returns fresh containers (see the module docstring).
    """
    return _compile_node(template, field)


def _compile_node(node: Any, field: str) -> ValueFn:
    if not _has_dynamic(node):
        return _literal(node)
    if isinstance(node, list):
        parts = [_compile_node(v, field) for v in node]
        return lambda scope: [p(scope) for p in parts]
    assert isinstance(node, dict)
    entries: list[tuple[str, ValueFn]] = []
    for key, value in node.items():
        if isinstance(key, str) and key.endswith(".$"):
            if not isinstance(value, str):
                raise ExpressionError(
                    f"The value of field '{key}' in {field} must be a string path or intrinsic, "
                    f"not {compact_json(value)}",
                    compact_json(value),
                )
            entries.append((key[:-2], compile_value(value, key)))
        else:
            entries.append((key, _compile_node(value, field)))
    items = tuple(entries)

    def build(scope: Scope) -> dict[str, Any]:
        return {key: fn(scope) for key, fn in items}

    return build
