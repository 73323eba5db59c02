"""Choice rules (JSONPath mode) compiled to ``Scope -> bool`` predicates.

AWS semantics, checked against the recorded executions in the conformance corpus:

- A comparison whose operand has the wrong type is simply false: ``NumericEquals`` on a string,
  ``BooleanEquals`` on ``0``, ``StringEquals`` on ``null``. Booleans are not numbers.
- Numbers compare by value (``1 == 1.0``); strings compare as Java does (UTF-16 code units).
- ``IsNull``/``IsPresent``/``IsNumeric``/``IsString``/``IsBoolean``/``IsTimestamp`` take a
  boolean: ``"IsNull": false`` is true for every non-null value.
- ``IsPresent`` is false for a Variable that selects nothing; every other operator raises
  ``States.Runtime`` for it.
- Timestamps are RFC 3339 with an uppercase ``T`` and a ``Z`` or ``±hh:mm`` offset, fractional
  seconds allowed (up to nanoseconds); they compare as instants.
- ``StringMatches``: ``*`` matches any run of characters, ``\\*`` a literal star and ``\\\\`` a
  literal backslash; the whole string must match.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from alpha_engine.sfn._errors import ExpressionError, StatesError
from alpha_engine.sfn._jsonpath import PathNotFound
from alpha_engine.sfn._template import Scope, ScopedPath, compile_scoped_path
from alpha_engine.sfn._vocabulary import COMPARISON_KINDS, COMPARISON_OPERATORS, TIMESTAMP_RE, TYPE_TESTS

__all__ = [
    "ChoicePredicate",
    "compile_choice_rule",
    "parse_timestamp_ns",
    "timestamp_from_ns",
]

ChoicePredicate = Callable[[Scope], bool]


# ---------------------------------------------------------------------------------------------
# Timestamps
# ---------------------------------------------------------------------------------------------

_EPOCH: Final = datetime(1970, 1, 1)


def parse_timestamp_ns(text: Any) -> int | None:
    """Nanoseconds since the epoch for an AWS timestamp string, or None if it is not one.

    Accepts ``2016-03-14T01:59:00Z``, ``2016-03-14T01:59:00.243167252Z`` and
    ``2016-03-14T01:59:00+01:00``; rejects a missing ``T`` or zone and out-of-range fields.
    """
    if not isinstance(text, str):
        return None
    m = TIMESTAMP_RE.fullmatch(text)
    if not m:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    try:
        local = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    zone = m.group(8)
    offset = 0
    if zone != "Z":
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            return None
        offset = (hours * 60 + minutes) * (1 if zone[0] == "+" else -1)
    delta = local - _EPOCH - timedelta(minutes=offset)
    fraction = (m.group(7) or "").ljust(9, "0")[:9]
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + int(fraction)


def timestamp_from_ns(ns: int) -> datetime:
    """A timezone-aware UTC datetime (microsecond precision) from epoch nanoseconds."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ns // 1000)


# ---------------------------------------------------------------------------------------------
# Typed comparisons
# ---------------------------------------------------------------------------------------------


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _java_key(s: str) -> Any:
    # Java compares strings by UTF-16 code unit; Python by code point. They differ only when
    # a character above U+FFFF meets one in U+E000..U+FFFF, so encode only when needed.
    return s if s.isascii() else s.encode("utf-16-be")


_RELATION_FN: Final[Mapping[str, Callable[[Any, Any], bool]]] = {
    "Equals": lambda a, b: bool(a == b),
    "LessThan": lambda a, b: bool(a < b),
    "GreaterThan": lambda a, b: bool(a > b),
    "LessThanEquals": lambda a, b: bool(a <= b),
    "GreaterThanEquals": lambda a, b: bool(a >= b),
}


def _coerce(kind: str, value: Any) -> Any:
    """The comparable form of ``value`` for ``kind``, or None if the type does not fit."""
    if kind == "String":
        return _java_key(value) if isinstance(value, str) else None
    if kind == "Numeric":
        return value if _is_number(value) else None
    return parse_timestamp_ns(value)


def _string_matcher(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "*\\":
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "*" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _type_test(op: str) -> Callable[[Any], bool]:
    if op == "IsNull":
        return lambda v: v is None
    if op == "IsNumeric":
        return _is_number
    if op == "IsString":
        return lambda v: isinstance(v, str)
    if op == "IsBoolean":
        return lambda v: isinstance(v, bool)
    return lambda v: parse_timestamp_ns(v) is not None


# ---------------------------------------------------------------------------------------------
# Compilation
# ---------------------------------------------------------------------------------------------


def _invalid(text: str) -> StatesError:
    return StatesError(
        "States.Runtime",
        f"Invalid path '{text}': The choice state's condition path references an invalid value.",
    )


def _compile_path(text: Any, where: str) -> ScopedPath:
    if not isinstance(text, str):
        raise ExpressionError(f"{where} must be a path string, not {text!r}", str(text))
    try:
        return compile_scoped_path(text, reference=True)
    except ExpressionError as exc:
        raise ExpressionError(f"{exc} (at {where})", text) from None


def compile_choice_rule(rule: Mapping[str, Any], pointer: str) -> ChoicePredicate:
    """Compile a top-level or nested Choice rule; ``pointer`` locates it in error messages.

    A rule is ``And`` (list), ``Or`` (list), ``Not`` (object) or ``Variable`` plus exactly one
    data-test operator. Other keys (``Next``, ``Comment``, ``Assign``) are ignored here.
    """
    if not isinstance(rule, Mapping):
        raise ExpressionError(f"a Choice rule must be an object (at {pointer})")
    if "And" in rule or "Or" in rule:
        key = "And" if "And" in rule else "Or"
        subs = rule[key]
        if not isinstance(subs, list) or not subs:
            raise ExpressionError(f"{key} must be a non-empty array of rules (at {pointer}/{key})")
        preds = tuple(compile_choice_rule(r, f"{pointer}/{key}/{i}") for i, r in enumerate(subs))
        if key == "And":
            return lambda scope: all(p(scope) for p in preds)
        return lambda scope: any(p(scope) for p in preds)
    if "Not" in rule:
        inner = compile_choice_rule(rule["Not"], f"{pointer}/Not")
        return lambda scope: not inner(scope)

    ops = [k for k in rule if k in COMPARISON_OPERATORS]
    if len(ops) != 1:
        found = ", ".join(ops) if ops else "none"
        raise ExpressionError(
            f"a Choice rule needs exactly one comparison operator, found {found} (at {pointer})"
        )
    if "Variable" not in rule:
        raise ExpressionError(f"a Choice rule needs a Variable (at {pointer})")
    op = ops[0]
    variable = _compile_path(rule["Variable"], f"{pointer}/Variable")
    operand = rule[op]
    where = f"{pointer}/{op}"

    if op == "IsPresent":
        want_present = _require_bool(operand, where)

        def is_present(scope: Scope) -> bool:
            try:
                variable.find(scope)
            except PathNotFound:
                return not want_present
            return want_present

        return is_present

    test = _compile_test(op, operand, where)
    var_text = variable.text

    def predicate(scope: Scope) -> bool:
        try:
            value = variable.find(scope)
        except PathNotFound:
            raise _invalid(var_text) from None
        return test(value, scope)

    return predicate


def _require_bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ExpressionError(f"the operand must be true or false, not {value!r} (at {where})")
    return value


def _compile_test(op: str, operand: Any, where: str) -> Callable[[Any, Scope], bool]:
    """``(variable value, scope) -> bool`` for one operator and its operand."""
    if op in TYPE_TESTS:
        want = _require_bool(operand, where)
        check = _type_test(op)
        return lambda value, _scope: check(value) is want

    if op == "StringMatches":
        if not isinstance(operand, str):
            raise ExpressionError(f"StringMatches needs a string pattern (at {where})")
        matcher = _string_matcher(operand)
        return lambda value, _scope: isinstance(value, str) and matcher.fullmatch(value) is not None

    if op.startswith("Boolean"):
        if op.endswith("Path"):
            other = _compile_path(operand, where)
            return lambda value, scope: (
                isinstance(value, bool) and isinstance(b := _find_operand(other, scope), bool) and value is b
            )
        expected = _require_bool(operand, where)
        return lambda value, _scope: isinstance(value, bool) and value is expected

    kind = next(k for k in COMPARISON_KINDS if op.startswith(k))
    relation = op[len(kind) :].removesuffix("Path")
    compare = _RELATION_FN[relation]
    if op.endswith("Path"):
        other = _compile_path(operand, where)

        def path_test(value: Any, scope: Scope) -> bool:
            left = _coerce(kind, value)
            if left is None:
                return False
            right = _coerce(kind, _find_operand(other, scope))
            return right is not None and compare(left, right)

        return path_test

    literal = _coerce(kind, operand)
    if literal is None:
        raise ExpressionError(f"{op} needs a {kind.lower()} operand, not {operand!r} (at {where})")

    def literal_test(value: Any, _scope: Scope) -> bool:
        left = _coerce(kind, value)
        return left is not None and compare(left, literal)

    return literal_test


def _find_operand(path: ScopedPath, scope: Scope) -> Any:
    try:
        return path.find(scope)
    except PathNotFound:
        raise _invalid(path.text) from None
