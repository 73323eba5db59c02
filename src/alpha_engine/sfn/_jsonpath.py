"""AWS-dialect JSONPath: compiled once at definition load, evaluated on the hot path.

Step Functions evaluates JSONPath with Jayway semantics. The parts that matter here:

- A *definite* path (only ``.name``, ``['name']`` and ``[n]`` steps) selects one node and
  returns it as is: ``$.items[0]`` gives the element, not a one-element list. A missing key or an
  index out of range raises :class:`PathNotFound`.
- An *indefinite* path (wildcard, slice, union, filter, recursive descent) always returns a list
  of the matches, and missing keys are skipped: ``$.items[*]`` on ``{}`` is ``[]``, not an error.
- Filters apply to each element of an array; applied to an object they test the object itself.
- A trailing function (``$.a.length()``, ``min()``, ``max()``, ``avg()``, ``sum()``,
  ``stddev()``, ``keys()``, ``first()``, ``last()``) turns the selection into one value.

Why our own evaluator rather than ``jsonpath-ng``: its semantics are not Jayway's (no
definite/indefinite split, no ``&&``/``||`` outside its ``ext`` parser, different missing-key
behaviour), and its parser is slow. The dialect is small enough that a ~500-line compiler
gives exact behaviour and a precompiled tuple walk for the common ``$.a.b`` case.

Values returned by :meth:`CompiledPath.find` share structure with the document searched;
callers treat documents as immutable (``put`` copies the spine instead of mutating).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, Final

from alpha_engine.sfn._errors import ExpressionError, StatesError
from alpha_engine.sfn._json import compact_json, json_equal

__all__ = [
    "CompiledPath",
    "CompiledReferencePath",
    "PathNotFound",
    "compile_path",
    "compile_reference_path",
    "format_no_results",
    "is_path",
    "is_reference_path",
    "split_scoped_path",
]


class PathNotFound(Exception):
    """A definite path selected nothing. ``path_text`` is the path as written."""

    def __init__(self, path_text: str) -> None:
        self.path_text = path_text
        super().__init__(path_text)


# --------------------------------------------------------------------------------------------
# AST. Steps are small tuples: tag first, then arguments.
# --------------------------------------------------------------------------------------------

_NAME: Final = "name"
_INDEX: Final = "index"
_WILD: Final = "wild"
_SLICE: Final = "slice"
_UNION_INDEX: Final = "union_index"
_UNION_NAME: Final = "union_name"
_FILTER: Final = "filter"
_DESCENT: Final = "descent"

Step = tuple[Any, ...]
_MISSING: Final = object()

_FUNCTIONS: Final = frozenset(
    {"length", "size", "min", "max", "avg", "sum", "stddev", "keys", "first", "last"}
)


def _bad(text: str, reason: str) -> ExpressionError:
    return ExpressionError(f"Invalid JSONPath '{text}': {reason}", text)


class _Parser:
    """Recursive-descent parser for paths and the filter expressions inside them."""

    # Characters that end a dot-name inside a filter expression (operators, grouping).
    _FILTER_NAME_STOP: Final = frozenset(".[]() \t\r\n=!<>&|,")
    _NAME_STOP: Final = frozenset(".[")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    # -- helpers ---------------------------------------------------------------------------
    def error(self, reason: str) -> ExpressionError:
        return _bad(self.text, f"{reason} at position {self.pos}")

    def peek(self, n: int = 1) -> str:
        return self.text[self.pos : self.pos + n]

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def skip_ws(self) -> None:
        while not self.at_end() and self.text[self.pos] in " \t\r\n":
            self.pos += 1

    def expect(self, s: str) -> None:
        if not self.text.startswith(s, self.pos):
            raise self.error(f"expected {s!r}")
        self.pos += len(s)

    # -- paths -----------------------------------------------------------------------------
    def parse_steps(self, in_filter: bool) -> tuple[list[Step], str | None]:
        """Steps after the root, up to the end (or, in a filter, up to an operator)."""
        steps: list[Step] = []
        func: str | None = None
        stop = self._FILTER_NAME_STOP if in_filter else self._NAME_STOP
        while not self.at_end():
            c = self.text[self.pos]
            if func is not None:
                if in_filter:
                    break
                raise self.error("a function must be the last step")
            if self.text.startswith("..", self.pos):
                self.pos += 2
                if self.peek() == "[":
                    inner = self.parse_bracket()
                elif self.peek() == "*":
                    self.pos += 1
                    inner = (_WILD,)
                else:
                    name = self.read_name(stop)
                    inner = (_NAME, name)
                steps.append((_DESCENT, inner))
            elif c == ".":
                self.pos += 1
                if self.peek() == "*":
                    self.pos += 1
                    steps.append((_WILD,))
                    continue
                name = self.read_name(stop)
                if self.peek(2) == "()":
                    if name not in _FUNCTIONS:
                        raise self.error(f"unknown function {name}()")
                    self.pos += 2
                    func = name
                else:
                    steps.append((_NAME, name))
            elif c == "[":
                steps.append(self.parse_bracket())
            elif in_filter:
                break
            else:
                raise self.error(f"unexpected character {c!r}")
        return steps, func

    def read_name(self, stop: frozenset[str]) -> str:
        start = self.pos
        while not self.at_end() and self.text[self.pos] not in stop:
            if self.text[self.pos] == "(" and self.peek(2) == "()":
                break
            self.pos += 1
        name = self.text[start : self.pos]
        if not name:
            raise self.error("empty property name")
        if any(ch in " \t\r\n" for ch in name):
            raise self.error(f"whitespace in property name {name!r}")
        return name

    def read_quoted(self) -> str:
        quote = self.text[self.pos]
        self.pos += 1
        out: list[str] = []
        while True:
            if self.at_end():
                raise self.error("unterminated string")
            c = self.text[self.pos]
            if c == "\\" and self.peek(2)[1:] == quote:
                # Only an escaped quote is unescaped; other backslashes are literal
                # (AWS reads $['a\"b'] as the key a\"b).
                out.append(quote)
                self.pos += 2
                continue
            if c == quote:
                self.pos += 1
                return "".join(out)
            out.append(c)
            self.pos += 1

    def read_int(self) -> int | None:
        m = re.compile(r"\s*(-?\d+)\s*").match(self.text, self.pos)
        if not m:
            return None
        self.pos = m.end()
        return int(m.group(1))

    def parse_bracket(self) -> Step:
        self.expect("[")
        self.skip_ws()
        c = self.peek()
        if c == "*":
            self.pos += 1
            self.skip_ws()
            self.expect("]")
            return (_WILD,)
        if c == "?":
            self.pos += 1
            self.skip_ws()
            self.expect("(")
            pred = self.parse_or()
            self.skip_ws()
            self.expect(")")
            self.skip_ws()
            self.expect("]")
            return (_FILTER, pred)
        if c in ("'", '"'):
            names = [self.read_quoted()]
            self.skip_ws()
            while self.peek() == ",":
                self.pos += 1
                self.skip_ws()
                if self.peek() not in ("'", '"'):
                    raise self.error("expected a quoted name")
                names.append(self.read_quoted())
                self.skip_ws()
            self.expect("]")
            return (_NAME, names[0]) if len(names) == 1 else (_UNION_NAME, tuple(names))
        # Indices, unions and slices.
        start = self.read_int()
        if self.peek() == ":":
            parts: list[int | None] = [start]
            while self.peek() == ":":
                self.pos += 1
                parts.append(self.read_int())
            if len(parts) > 3:
                raise self.error("too many ':' in slice")
            self.expect("]")
            step = parts[2] if len(parts) == 3 else None
            if step == 0:
                raise self.error("slice step cannot be 0")
            return (_SLICE, parts[0], parts[1], step)
        if start is None:
            raise self.error("expected an index, slice, '*', filter or quoted name")
        indices = [start]
        while self.peek() == ",":
            self.pos += 1
            nxt = self.read_int()
            if nxt is None:
                raise self.error("expected an index")
            indices.append(nxt)
        self.expect("]")
        return (_INDEX, start) if len(indices) == 1 else (_UNION_INDEX, tuple(indices))

    # -- filter expressions ------------------------------------------------------------------
    # A predicate is a callable (item, root) -> bool; an operand is (item, root) -> value|_MISSING.
    def parse_or(self) -> _Pred:
        left = self.parse_and()
        while True:
            self.skip_ws()
            if self.peek(2) != "||":
                return left
            self.pos += 2
            right = self.parse_and()
            left = _or(left, right)

    def parse_and(self) -> _Pred:
        left = self.parse_unary()
        while True:
            self.skip_ws()
            if self.peek(2) != "&&":
                return left
            self.pos += 2
            right = self.parse_unary()
            left = _and(left, right)

    def parse_unary(self) -> _Pred:
        self.skip_ws()
        if self.peek() == "!" and self.peek(2) != "!=":
            self.pos += 1
            inner = self.parse_unary()
            return lambda item, root: not inner(item, root)
        if self.peek() == "(":
            self.pos += 1
            inner = self.parse_or()
            self.skip_ws()
            self.expect(")")
            return inner
        return self.parse_comparison()

    def parse_comparison(self) -> _Pred:
        left, left_is_path = self.parse_operand()
        self.skip_ws()
        op = None
        for candidate in ("==", "!=", "<=", ">=", "=~", "<", ">"):
            if self.text.startswith(candidate, self.pos):
                op = candidate
                break
        if op is None:
            for word in ("nin", "in"):
                if re.compile(rf"{word}\b").match(self.text, self.pos):
                    op = word
                    break
        if op is None:
            if not left_is_path:
                raise self.error("a literal alone is not a condition")
            return lambda item, root: left(item, root) is not _MISSING
        self.pos += len(op)
        self.skip_ws()
        if op == "=~":
            regex = self.parse_regex()
            return lambda item, root: _regex_match(left(item, root), regex)
        right, _ = self.parse_operand()
        return _comparison(op, left, right)

    def parse_regex(self) -> re.Pattern[str]:
        if self.peek() != "/":
            raise self.error("expected a /regex/ after =~")
        end = self.pos + 1
        while end < len(self.text) and self.text[end] != "/":
            end += 2 if self.text[end] == "\\" else 1
        if end >= len(self.text):
            raise self.error("unterminated regex")
        body = self.text[self.pos + 1 : end]
        self.pos = end + 1
        flags = 0
        while not self.at_end() and self.text[self.pos] in "imsx":
            flags |= {"i": re.I, "m": re.M, "s": re.S, "x": re.X}[self.text[self.pos]]
            self.pos += 1
        try:
            return re.compile(body, flags)
        except re.error as exc:
            raise self.error(f"bad regex /{body}/: {exc}") from None

    def parse_operand(self) -> tuple[_Operand, bool]:
        self.skip_ws()
        c = self.peek()
        if c in ("@", "$"):
            self.pos += 1
            steps, func = self.parse_steps(in_filter=True)
            plan = _Plan(tuple(steps), func)
            if c == "@":
                return (lambda item, root: plan.evaluate_or_missing(item)), True
            return (lambda item, root: plan.evaluate_or_missing(root)), True
        if c in ("'", '"'):
            s = self.read_quoted()
            return (lambda item, root: s), False
        if c == "[":
            # A JSON array literal, for 'in' / 'nin'.
            depth, end = 0, self.pos
            while end < len(self.text):
                if self.text[end] == "[":
                    depth += 1
                elif self.text[end] == "]":
                    depth -= 1
                    if depth == 0:
                        break
                end += 1
            raw = self.text[self.pos : end + 1].replace("'", '"')
            try:
                arr = json.loads(raw)
            except ValueError:
                raise self.error(f"bad array literal {raw}") from None
            self.pos = end + 1
            return (lambda item, root: arr), False
        m = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?|true\b|false\b|null\b").match(self.text, self.pos)
        if not m:
            raise self.error("expected @, $, or a literal")
        self.pos = m.end()
        lit: Any = json.loads(m.group(0))
        return (lambda item, root: lit), False


_Pred = Callable[[Any, Any], bool]
_Operand = Callable[[Any, Any], Any]


def _or(a: _Pred, b: _Pred) -> _Pred:
    return lambda item, root: a(item, root) or b(item, root)


def _and(a: _Pred, b: _Pred) -> _Pred:
    return lambda item, root: a(item, root) and b(item, root)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _ordered(op: str, a: Any, b: Any) -> bool:
    if _is_number(a) and _is_number(b) or isinstance(a, str) and isinstance(b, str):
        if op == "<":
            return bool(a < b)
        if op == "<=":
            return bool(a <= b)
        if op == ">":
            return bool(a > b)
        return bool(a >= b)
    return False


def _comparison(op: str, left: _Operand, right: _Operand) -> _Pred:
    if op == "==":
        return lambda item, root: _eq(left(item, root), right(item, root))
    if op == "!=":
        return lambda item, root: not _eq(left(item, root), right(item, root))
    if op in ("in", "nin"):
        want = op == "in"

        def member(item: Any, root: Any) -> bool:
            value, coll = left(item, root), right(item, root)
            if value is _MISSING or not isinstance(coll, list):
                return False
            return any(_eq(value, c) for c in coll) is want

        return member

    def ordered(item: Any, root: Any) -> bool:
        a, b = left(item, root), right(item, root)
        if a is _MISSING or b is _MISSING:
            return False
        return _ordered(op, a, b)

    return ordered


def _eq(a: Any, b: Any) -> bool:
    if a is _MISSING or b is _MISSING:
        return False
    return json_equal(a, b)


def _regex_match(value: Any, regex: re.Pattern[str]) -> bool:
    # Jayway uses Java's Matcher.matches(): the whole string must match.
    return isinstance(value, str) and regex.fullmatch(value) is not None


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


def _apply_step(step: Step, nodes: list[Any], root: Any) -> list[Any]:
    tag = step[0]
    out: list[Any] = []
    if tag == _NAME:
        key = step[1]
        for n in nodes:
            if isinstance(n, Mapping) and key in n:
                out.append(n[key])
    elif tag == _INDEX:
        i = step[1]
        for n in nodes:
            if isinstance(n, list) and -len(n) <= i < len(n):
                out.append(n[i])
    elif tag == _WILD:
        for n in nodes:
            if isinstance(n, Mapping):
                out.extend(n.values())
            elif isinstance(n, list):
                out.extend(n)
    elif tag == _SLICE:
        sl = slice(step[1], step[2], step[3])
        for n in nodes:
            if isinstance(n, list):
                out.extend(n[sl])
    elif tag == _UNION_INDEX:
        for n in nodes:
            if isinstance(n, list):
                out.extend(n[i] for i in step[1] if -len(n) <= i < len(n))
    elif tag == _UNION_NAME:
        for n in nodes:
            if isinstance(n, Mapping):
                out.extend(n[k] for k in step[1] if k in n)
    elif tag == _FILTER:
        pred = step[1]
        for n in nodes:
            if isinstance(n, list):
                out.extend(x for x in n if pred(x, root))
            elif isinstance(n, Mapping) and pred(n, root):
                out.append(n)
    elif tag == _DESCENT:
        inner = step[1]
        for n in nodes:
            out.extend(_apply_step(inner, list(_descendants(n)), root))
    return out


def _descendants(node: Any) -> Any:
    """The node and everything below it, in document order (pre-order)."""
    yield node
    if isinstance(node, Mapping):
        for v in node.values():
            yield from _descendants(v)
    elif isinstance(node, list):
        for v in node:
            yield from _descendants(v)


def _apply_function(name: str, value: Any) -> Any:
    if name in ("length", "size"):
        if isinstance(value, (list, str, Mapping)):
            return len(value)
        raise _FunctionError(f"{name}() needs an array, object or string")
    if name == "keys":
        if isinstance(value, Mapping):
            return list(value.keys())
        raise _FunctionError("keys() needs an object")
    if not isinstance(value, list):
        raise _FunctionError(f"{name}() needs an array")
    if name == "first":
        if not value:
            raise _FunctionError("first() of an empty array")
        return value[0]
    if name == "last":
        if not value:
            raise _FunctionError("last() of an empty array")
        return value[-1]
    numbers = [v for v in value if _is_number(v)]
    if not numbers:
        raise _FunctionError(f"{name}() needs at least one number")
    if name == "min":
        return float(min(numbers))
    if name == "max":
        return float(max(numbers))
    if name == "sum":
        return float(sum(numbers))
    mean = sum(numbers) / len(numbers)
    if name == "avg":
        return float(mean)
    return math.sqrt(sum((n - mean) ** 2 for n in numbers) / len(numbers))


class _FunctionError(Exception):
    pass


class _Plan:
    """Evaluation plan for a step list: a tuple walk when definite, a node-list engine otherwise."""

    __slots__ = ("steps", "func", "simple")

    def __init__(self, steps: tuple[Step, ...], func: str | None) -> None:
        self.steps = steps
        self.func = func
        self.simple: tuple[str | int, ...] | None = None
        if all(s[0] in (_NAME, _INDEX) for s in steps):
            self.simple = tuple(s[1] for s in steps)

    def evaluate(self, data: Any, text: str) -> Any:
        """Definite: the node (raises PathNotFound); indefinite: list of matches."""
        if self.simple is not None:
            value = _walk(self.simple, data, text)
        else:
            value = self._collect(data)
        if self.func is not None:
            try:
                return _apply_function(self.func, value)
            except _FunctionError:
                raise PathNotFound(text) from None
        return value

    def _collect(self, data: Any) -> list[Any]:
        nodes = [data]
        for step in self.steps:
            nodes = _apply_step(step, nodes, data)
            if not nodes:
                break
        return nodes

    def evaluate_or_missing(self, data: Any) -> Any:
        try:
            return self.evaluate(data, "")
        except PathNotFound:
            return _MISSING


def _walk(keys: tuple[str | int, ...], data: Any, text: str) -> Any:
    cur = data
    for key in keys:
        if type(key) is int:
            # Only lists are indexable by position: a string must not yield a character.
            if type(cur) is not list:
                raise PathNotFound(text)
            try:
                cur = cur[key]
            except IndexError:
                raise PathNotFound(text) from None
        else:
            try:
                cur = cur[key]
            except (KeyError, TypeError, IndexError):
                raise PathNotFound(text) from None
    return cur


# --------------------------------------------------------------------------------------------
# Public compiled paths
# --------------------------------------------------------------------------------------------


class CompiledPath:
    """A ``$``-rooted JSONPath. ``find(data)`` selects from ``data``; see the module docstring."""

    __slots__ = ("text", "is_definite", "_plan", "_simple")

    def __init__(self, text: str, steps: tuple[Step, ...], func: str | None) -> None:
        self.text = text
        self._plan = _Plan(steps, func)
        self._simple = self._plan.simple if func is None else None
        self.is_definite = self._plan.simple is not None

    def find(self, data: Any) -> Any:
        simple = self._simple
        if simple is not None:
            # Hot path, inlined: one loop over precompiled keys.
            cur = data
            for key in simple:
                if type(key) is int and type(cur) is not list:
                    raise PathNotFound(self.text)
                try:
                    cur = cur[key]
                except (KeyError, TypeError, IndexError):
                    raise PathNotFound(self.text) from None
            return cur
        return self._plan.evaluate(data, self.text)

    def normalized(self) -> str:
        """Jayway's bracket form, as AWS prints it in "No results for path" causes."""
        return (
            "$"
            + "".join(_render_step(s) for s in self._plan.steps)
            + (f".{self._plan.func}()" if self._plan.func else "")
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.text!r})"


class CompiledReferencePath(CompiledPath):
    """A path that names exactly one node (``ResultPath``, ``*Path`` fields, Choice ``Variable``)."""

    __slots__ = ("_keys",)

    def __init__(self, text: str, steps: tuple[Step, ...]) -> None:
        super().__init__(text, steps, None)
        self._keys: tuple[str | int, ...] = tuple(s[1] for s in steps)

    def put(self, target: Any, value: Any) -> Any:
        """A new document with ``value`` at this path; ``target`` is not modified.

        Missing intermediate objects are created. Stepping into an existing non-object (or an
        index that is not there) is ``States.ResultPathMatchFailure``.
        """
        if not self._keys:
            return value
        return self._put(target, 0, value, target)

    def _put(self, node: Any, i: int, value: Any, root: Any) -> Any:
        key = self._keys[i]
        last = i == len(self._keys) - 1
        if type(key) is int:
            if type(node) is not list or not -len(node) <= key < len(node):
                raise self._mismatch(root)
            new_list = list(node)
            new_list[key] = value if last else self._put(node[key], i + 1, value, root)
            return new_list
        if not isinstance(node, Mapping):
            raise self._mismatch(root)
        new = dict(node)
        if last:
            new[key] = value
        else:
            child = node[key] if key in node else {}
            new[key] = self._put(child, i + 1, value, root)
        return new

    def _mismatch(self, root: Any) -> StatesError:
        return StatesError(
            "States.ResultPathMatchFailure",
            f"Unable to apply ReferencePath {self.text} to input {compact_json(root)}",
        )


def _render_step(step: Step) -> str:
    tag = step[0]
    if tag == _NAME:
        return "['" + str(step[1]).replace("'", "\\'") + "']"
    if tag == _INDEX:
        return f"[{step[1]}]"
    if tag == _WILD:
        return "[*]"
    if tag == _SLICE:
        a = "" if step[1] is None else str(step[1])
        b = "" if step[2] is None else str(step[2])
        return f"[{a}:{b}]" if step[3] is None else f"[{a}:{b}:{step[3]}]"
    if tag == _UNION_INDEX:
        return "[" + ",".join(str(i) for i in step[1]) + "]"
    if tag == _UNION_NAME:
        return "[" + ",".join("'" + n + "'" for n in step[1]) + "]"
    if tag == _FILTER:
        return "[?]"
    return ".." + _render_step(step[1])


def _parse_dollar_path(text: str) -> tuple[tuple[Step, ...], str | None]:
    if not isinstance(text, str) or not text.startswith("$"):
        raise _bad(str(text), "a path must start with '$'")
    p = _Parser(text)
    p.pos = 1
    steps, func = p.parse_steps(in_filter=False)
    if not p.at_end():
        raise p.error("unexpected trailing text")
    return tuple(steps), func


@lru_cache(maxsize=4096)
def compile_path(text: str) -> CompiledPath:
    """Compile a ``$``-rooted JSONPath; raises :class:`ExpressionError` if malformed.

    ``$$`` (context) and ``$name`` (variable) roots are not handled here: see
    :func:`split_scoped_path` and ``_template.compile_scoped_path``.
    """
    if text.startswith("$$"):
        raise _bad(text, "a context path ($$) cannot be used here")
    steps, func = _parse_dollar_path(text)
    return CompiledPath(text, steps, func)


@lru_cache(maxsize=4096)
def compile_reference_path(text: str) -> CompiledReferencePath:
    """Compile a reference path: only ``.name``, ``['name']`` and ``[n]`` steps are allowed."""
    if text.startswith("$$"):
        raise _bad(text, "a context path ($$) cannot be used here")
    steps, func = _parse_dollar_path(text)
    if func is not None:
        raise _bad(text, f"a reference path cannot call {func}()")
    for s in steps:
        if s[0] not in (_NAME, _INDEX):
            raise _bad(text, "a reference path may only use .name, ['name'] and [n] steps")
    return CompiledReferencePath(text, steps)


_VARIABLE_RE: Final = re.compile(r"\$([^\W\d]\w*)")


def split_scoped_path(text: str) -> tuple[str, str | None, str]:
    """Split a path into (root kind, variable name, ``$``-rooted rest).

    ``'$.a'`` → ``('input', None, '$.a')``; ``'$$.Execution'`` → ``('context', None, '$.Execution')``;
    ``'$x.a[0]'`` → ``('variable', 'x', '$.a[0]')``. Raises ExpressionError for anything else.
    """
    if not isinstance(text, str) or not text.startswith("$"):
        raise _bad(str(text), "a path must start with '$'")
    if text.startswith("$$"):
        return "context", None, "$" + text[2:]
    m = _VARIABLE_RE.match(text)
    if m:
        return "variable", m.group(1), "$" + text[m.end() :]
    return "input", None, text


def is_path(text: str, *, scoped: bool = True) -> bool:
    """True if ``text`` is a valid Path. With ``scoped`` (default) ``$$...`` and ``$var...`` count."""
    try:
        if scoped:
            _, _, rest = split_scoped_path(text)
            compile_path(rest)
        else:
            compile_path(text)
    except ExpressionError:
        return False
    return True


def is_reference_path(text: str, *, scoped: bool = False) -> bool:
    """True if ``text`` is a valid reference path. ``ResultPath`` must be ``$``-rooted (default);
    Choice ``Variable`` and ``*Path`` fields may also use ``$$`` / ``$var`` roots (``scoped=True``)."""
    try:
        if scoped:
            _, _, rest = split_scoped_path(text)
            compile_reference_path(rest)
        else:
            compile_reference_path(text)
    except ExpressionError:
        return False
    return True


def format_no_results(path_text: str) -> str:
    """AWS's cause for an InputPath/OutputPath/ItemsPath that selects nothing.

    ``"Invalid path '$.x' : No results for path: $['x']"`` — the second path is Jayway's
    normalised bracket form.
    """
    try:
        _, _, rest = split_scoped_path(path_text)
        normalized = compile_path(rest).normalized()
    except ExpressionError:
        normalized = path_text
    return f"Invalid path '{path_text}' : No results for path: {normalized}"
