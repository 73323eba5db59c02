"""The 18 JSONPath-mode intrinsic functions (``States.Format(...)`` and friends).

Compiled once into a ``Scope -> value`` closure. Malformed text (unknown name, wrong arity, bad
literal, nesting deeper than 10) is an :class:`ExpressionError` at compile time; a bad argument
*value* at run time is ``StatesError('States.IntrinsicFailure', ...)``.

String literals are single-quoted. ``\\'``, ``\\{``, ``\\}`` and ``\\\\`` stand for ``'``, ``{``,
``}`` and ``\\`` (in the JSON file each backslash is doubled again); any other backslash is kept
as written. The same literal syntax applies to every function's arguments: there is no separate
escaping rule for ``States.Array`` and ``States.Format``. In a ``States.Format`` template
written as a literal, ``{}`` is a placeholder and ``\\{`` / ``\\}`` are literal braces.

Observed AWS quirks reproduced here (recorded executions in the conformance corpus):

- ``States.Format`` renders non-string arguments the way Java's ``toString`` does: an object
  becomes ``{a=1, b=[]}``, an array ``[1, 2]``, null ``null``. ``States.JsonToString`` instead
  writes compact JSON (``{"a":1,"b":[]}``).
- ``States.MathAdd`` rounds each operand half-up (Java ``Math.round``) before adding:
  ``MathAdd(1.49, 1.5) == 3``, ``MathAdd(-2.5, 0) == -2``.
- ``States.StringSplit`` splits on *any* character of the delimiter string and drops empty
  pieces: ``StringSplit(",a,,b", ",") == ["a", "b"]``.
- ``States.StringToJson`` of an empty or blank string is ``null``.
- ``States.ArrayRange`` includes its end: ``ArrayRange(0, 9, 3) == [0, 3, 6, 9]``.

- ``States.MathRandom`` rounds non-integer bounds to the nearest integer (half up, as
  ``States.MathAdd`` does) before drawing, as the AWS documentation of the function states.

Randomness: ``States.UUID`` and unseeded ``States.MathRandom`` draw from the
:class:`~alpha_engine.sfn.IdSource` of the execution being run (see :mod:`._sources`), so a seeded
engine repeats them exactly. A seeded ``States.MathRandom(start, end, seed)`` is deterministic for
a given seed, but its values are Python's, not AWS's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from alpha_engine.sfn._errors import ExpressionError, StatesError
from alpha_engine.sfn._json import compact_json, json_equal
from alpha_engine.sfn._sources import current_sources

if TYPE_CHECKING:
    from alpha_engine.sfn._template import Scope, ValueFn

__all__ = [
    "INTRINSIC_ARITY",
    "MAX_NESTING",
    "compile_intrinsic",
    "format_java",
]

MAX_NESTING: Final = 10
_MAX_STRING: Final = 10_000  # Base64/Hash input limit documented by AWS
_MAX_RANGE: Final = 1000

INTRINSIC_ARITY: Final[Mapping[str, tuple[int, int | None]]] = {
    "States.Format": (1, None),
    "States.StringToJson": (1, 1),
    "States.JsonToString": (1, 1),
    "States.Array": (0, None),
    "States.ArrayPartition": (2, 2),
    "States.ArrayContains": (2, 2),
    "States.ArrayRange": (3, 3),
    "States.ArrayGetItem": (2, 2),
    "States.ArrayLength": (1, 1),
    "States.ArrayUnique": (1, 1),
    "States.Base64Encode": (1, 1),
    "States.Base64Decode": (1, 1),
    "States.Hash": (2, 2),
    "States.JsonMerge": (3, 3),
    "States.MathRandom": (2, 3),
    "States.MathAdd": (2, 2),
    "States.StringSplit": (2, 2),
    "States.UUID": (0, 0),
}

# ---------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------

_CALL_RE: Final = re.compile(r"States\.[A-Za-z0-9]+(?=\s*\()")
_NUMBER_RE: Final = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")
_WORD_RE: Final = re.compile(r"(true|false|null)(?![\w$.])")
_ESCAPABLE: Final = frozenset("'{}\\")


@dataclass(frozen=True, slots=True)
class _Arg:
    fn: Callable[[Scope], Any]
    is_literal: bool = False
    literal: Any = None
    raw: str | None = None  # string literal as written between the quotes (for Format)


class _ArgError(Exception):
    """A run-time argument problem; turned into States.IntrinsicFailure with the call's name."""


class _Parser:
    def __init__(self, text: str, field: str) -> None:
        self.text = text
        self.field = field
        self.pos = 0

    def error(self, reason: str) -> ExpressionError:
        return ExpressionError(
            f"Invalid intrinsic function in field '{self.field}': {reason} (at position {self.pos} "
            f"of {self.text!r})",
            self.text,
        )

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
            self.pos += 1

    def peek(self) -> str:
        return self.text[self.pos : self.pos + 1]

    def parse_call(self, depth: int) -> _Arg:
        if depth > MAX_NESTING:
            raise self.error(f"intrinsic functions nest deeper than {MAX_NESTING} levels")
        self.skip_ws()
        m = _CALL_RE.match(self.text, self.pos)
        if not m:
            raise self.error("expected States.<Function>(...)")
        name = m.group(0)
        if name not in INTRINSIC_ARITY:
            raise self.error(f"unknown intrinsic function {name}")
        self.pos = m.end()
        self.skip_ws()
        self.pos += 1  # '(' — guaranteed by the lookahead
        args: list[_Arg] = []
        self.skip_ws()
        if self.peek() == ")":
            self.pos += 1
        else:
            while True:
                args.append(self.parse_arg(depth))
                self.skip_ws()
                c = self.peek()
                self.pos += 1
                if c == ")":
                    break
                if c != ",":
                    self.pos -= 1
                    raise self.error("expected ',' or ')'")
        lo, hi = INTRINSIC_ARITY[name]
        if len(args) < lo or (hi is not None and len(args) > hi):
            want = f"{lo}" if lo == hi else f"at least {lo}" if hi is None else f"{lo} to {hi}"
            raise self.error(f"{name} takes {want} argument(s), got {len(args)}")
        return _build_call(name, args, self)

    def parse_arg(self, depth: int) -> _Arg:
        self.skip_ws()
        c = self.peek()
        if c == "'":
            raw = self.read_raw_string()
            value = _unescape(raw)
            return _Arg(lambda _s: value, True, value, raw)
        if c == "$":
            return self.parse_path_arg()
        if self.text.startswith("States.", self.pos):
            return self.parse_call(depth + 1)
        m = _NUMBER_RE.match(self.text, self.pos) or _WORD_RE.match(self.text, self.pos)
        if not m:
            raise self.error("expected a string, number, true/false/null, path or intrinsic call")
        self.pos = m.end()
        literal: Any = json.loads(m.group(0))
        return _Arg(lambda _s: literal, True, literal)

    def read_raw_string(self) -> str:
        start = self.pos + 1
        i = start
        while i < len(self.text):
            ch = self.text[i]
            if ch == "\\":
                i += 2
                continue
            if ch == "'":
                self.pos = i + 1
                return self.text[start:i]
            i += 1
        raise self.error("unterminated string literal")

    def parse_path_arg(self) -> _Arg:
        # A path ends at the first ',' or ')' outside brackets, parentheses and quotes
        # (filters such as [?(@.a == 'x,y')] contain all three).
        from alpha_engine.sfn._template import compile_value

        start = i = self.pos
        depth = 0
        quote = ""
        while i < len(self.text):
            ch = self.text[i]
            if quote:
                if ch == "\\":
                    i += 1
                elif ch == quote:
                    quote = ""
            elif ch in "'\"":
                quote = ch
            elif ch in "[(":
                depth += 1
            elif ch in "])":
                if depth == 0:
                    break
                depth -= 1
            elif ch == "," and depth == 0:
                break
            i += 1
        self.pos = i
        path = self.text[start:i].rstrip()
        try:
            fn = compile_value(path, self.field)
        except ExpressionError as exc:
            raise self.error(str(exc)) from None
        return _Arg(fn)


def _unescape(raw: str) -> str:
    if "\\" not in raw:
        return raw
    out: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw) and raw[i + 1] in _ESCAPABLE:
            out.append(raw[i + 1])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _split_template(raw: str, escapes: bool) -> list[str]:
    """Split a Format template into the text between ``{}`` placeholders."""
    parts: list[str] = []
    cur: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if escapes and ch == "\\" and i + 1 < len(raw) and raw[i + 1] in _ESCAPABLE:
            cur.append(raw[i + 1])
            i += 2
        elif ch == "{" and raw[i + 1 : i + 2] == "}":
            parts.append("".join(cur))
            cur = []
            i += 2
        else:
            cur.append(ch)
            i += 1
    parts.append("".join(cur))
    return parts


def compile_intrinsic(text: str, field: str) -> ValueFn:
    """Compile ``States.X(...)`` (with nested calls) into a ``Scope -> value`` function."""
    parser = _Parser(text, field)
    call = parser.parse_call(1)
    parser.skip_ws()
    if parser.pos != len(text):
        raise parser.error("unexpected text after the closing ')'")
    return call.fn


# ---------------------------------------------------------------------------------------------
# Functions
# ---------------------------------------------------------------------------------------------


def _fail(name: str, field: str, reason: str) -> StatesError:
    return StatesError(
        "States.IntrinsicFailure", f"Invalid arguments in {name} for field '{field}': {reason}"
    )


def _build_call(name: str, args: list[_Arg], parser: _Parser) -> _Arg:
    field = parser.field
    fns = tuple(a.fn for a in args)

    if name == "States.Format":
        impl = _format_impl(args, parser)
    elif name == "States.JsonMerge":
        deep = args[2]
        if deep.is_literal and deep.literal is not False:
            raise parser.error(
                "States.JsonMerge supports only a shallow merge: its third argument must be false"
            )
        impl = _IMPLS[name]
    else:
        impl = _IMPLS[name]

    def call(scope: Scope) -> Any:
        values = [f(scope) for f in fns]
        try:
            return impl(values)
        except _ArgError as exc:
            raise _fail(name, field, str(exc)) from None

    return _Arg(call)


def format_java(value: Any) -> str:
    """Render a JSON value as Java's ``toString`` would (how ``States.Format`` prints arguments)."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _java_double(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}={format_java(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(format_java(v) for v in value) + "]"
    return str(value)


def _java_double(d: float) -> str:
    """Java's ``Double.toString``: plain between 1e-3 and 1e7, else ``d.dddE<n>``."""
    if math.isnan(d):
        return "NaN"
    if math.isinf(d):
        return "Infinity" if d > 0 else "-Infinity"
    if d == 0:
        return "-0.0" if math.copysign(1.0, d) < 0 else "0.0"
    if 1e-3 <= abs(d) < 1e7:
        return repr(d)  # Python's repr is plain decimal in this range
    _sign, digits_t, exp = Decimal(repr(abs(d))).as_tuple()
    assert isinstance(exp, int)
    digits = "".join(map(str, digits_t))
    exponent = exp + len(digits) - 1
    digits = digits.rstrip("0") or "0"
    return f"{'-' if d < 0 else ''}{digits[0]}.{digits[1:] or '0'}E{exponent}"


def _format_impl(args: list[_Arg], parser: _Parser) -> Callable[[list[Any]], Any]:
    template = args[0]
    n_args = len(args) - 1
    if template.is_literal:
        if not isinstance(template.literal, str):
            raise parser.error("the States.Format template must be a string")
        assert template.raw is not None
        parts = _split_template(template.raw, escapes=True)
        if len(parts) - 1 != n_args:
            # AWS accepts such a definition and fails only when the state runs.
            message = f"the template has {len(parts) - 1} placeholder(s) but {n_args} argument(s)"

            def mismatched(values: list[Any]) -> str:
                raise _ArgError(message)

            return mismatched

        def fixed(values: list[Any]) -> str:
            out = [parts[0]]
            for value, text in zip(values[1:], parts[1:], strict=True):
                out.append(format_java(value))
                out.append(text)
            return "".join(out)

        return fixed

    def dynamic(values: list[Any]) -> str:
        tmpl = values[0]
        if not isinstance(tmpl, str):
            raise _ArgError("the template must be a string")
        dparts = _split_template(tmpl, escapes=False)
        if len(dparts) - 1 != n_args:
            raise _ArgError(f"the template has {len(dparts) - 1} placeholder(s) but {n_args} argument(s)")
        out = [dparts[0]]
        for value, text in zip(values[1:], dparts[1:], strict=True):
            out.append(format_java(value))
            out.append(text)
        return "".join(out)

    return dynamic


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _as_int(v: Any, what: str) -> int:
    if isinstance(v, bool) or not _is_number(v):
        raise _ArgError(f"{what} must be an integer, got {compact_json(v)}")
    if isinstance(v, float):
        if not v.is_integer():
            raise _ArgError(f"{what} must be an integer, got {compact_json(v)}")
        return int(v)
    return int(v)


def _as_list(v: Any, what: str) -> list[Any]:
    if not isinstance(v, list):
        raise _ArgError(f"{what} must be an array, got {compact_json(v)}")
    return v


def _as_str(v: Any, what: str) -> str:
    if not isinstance(v, str):
        raise _ArgError(f"{what} must be a string, got {compact_json(v)}")
    return v


def _java_round(v: Any, what: str) -> int:
    if not _is_number(v):
        raise _ArgError(f"{what} must be a number, got {compact_json(v)}")
    return int(v) if isinstance(v, int) else math.floor(v + 0.5)


def _string_to_json(a: list[Any]) -> Any:
    s = _as_str(a[0], "the argument")
    if not s.strip():
        return None
    try:
        return json.loads(s)
    except ValueError as exc:
        raise _ArgError(f"the string is not valid JSON: {exc}") from None


def _array_partition(a: list[Any]) -> Any:
    arr = _as_list(a[0], "the array")
    size = _as_int(a[1], "the chunk size")
    if size <= 0:
        raise _ArgError(f"the chunk size must be positive, got {size}")
    return [arr[i : i + size] for i in range(0, len(arr), size)]


def _array_range(a: list[Any]) -> Any:
    start = _as_int(a[0], "the start")
    end = _as_int(a[1], "the end")
    step = _as_int(a[2], "the step")
    if step == 0:
        raise _ArgError("the step must not be 0")
    values = range(start, end + (1 if step > 0 else -1), step)
    if len(values) > _MAX_RANGE:
        raise _ArgError(f"the range has {len(values)} elements; at most {_MAX_RANGE} are allowed")
    return list(values)


def _array_get_item(a: list[Any]) -> Any:
    arr = _as_list(a[0], "the array")
    index = _as_int(a[1], "the index")
    if not 0 <= index < len(arr):
        raise _ArgError(f"index {index} is out of bounds for an array of length {len(arr)}")
    return arr[index]


def _array_unique(a: list[Any]) -> Any:
    out: list[Any] = []
    for v in _as_list(a[0], "the array"):
        if not any(json_equal(v, seen) for seen in out):
            out.append(v)
    return out


def _base64_encode(a: list[Any]) -> Any:
    s = _as_str(a[0], "the data")
    if len(s) > _MAX_STRING:
        raise _ArgError(f"the data is longer than {_MAX_STRING} characters")
    return base64.b64encode(s.encode("utf-8")).decode("ascii")


def _base64_decode(a: list[Any]) -> Any:
    s = _as_str(a[0], "the data")
    if len(s) > _MAX_STRING:
        raise _ArgError(f"the data is longer than {_MAX_STRING} characters")
    try:
        return base64.b64decode(s.encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise _ArgError(f"the data is not valid base64 text: {exc}") from None


_HASHES: Final = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


def _hash(a: list[Any]) -> Any:
    data = _as_str(a[0], "the data")
    if len(data) > _MAX_STRING:
        raise _ArgError(f"the data is longer than {_MAX_STRING} characters")
    algorithm = a[1]
    if algorithm not in _HASHES:
        raise _ArgError(f"the algorithm must be one of {', '.join(_HASHES)}, got {compact_json(algorithm)}")
    return hashlib.new(_HASHES[algorithm], data.encode("utf-8")).hexdigest()


def _json_merge(a: list[Any]) -> Any:
    left, right, deep = a
    if not isinstance(left, dict) or not isinstance(right, dict):
        raise _ArgError("both values to merge must be JSON objects")
    if deep is not False:
        raise _ArgError("only a shallow merge is supported: the third argument must be false")
    merged = dict(left)
    merged.update(right)
    return merged


def _math_random(a: list[Any]) -> Any:
    # AWS: "If you specify a non-integer value for the start number or end number argument, Step
    # Functions will round it off to the nearest integer." The end stays exclusive.
    start = _java_round(a[0], "the start")
    end = _java_round(a[1], "the end")
    if start >= end:
        raise _ArgError(f"the start ({start}) must be less than the end ({end})")
    if len(a) == 2:
        return current_sources("States.MathRandom").rng.randrange(start, end)
    return random.Random(_as_int(a[2], "the seed")).randrange(start, end)


def _math_add(a: list[Any]) -> Any:
    return _java_round(a[0], "the first value") + _java_round(a[1], "the second value")


def _string_split(a: list[Any]) -> Any:
    s = _as_str(a[0], "the string")
    delimiters = _as_str(a[1], "the delimiter")
    if not delimiters:
        return [s] if s else []
    pattern = "[" + re.escape(delimiters) + "]"
    return [piece for piece in re.split(pattern, s) if piece]


def _uuid(_a: list[Any]) -> Any:
    return current_sources("States.UUID").ids.uuid()


_IMPLS: Final[dict[str, Callable[[list[Any]], Any]]] = {
    "States.StringToJson": _string_to_json,
    "States.JsonToString": lambda a: compact_json(a[0]),
    "States.Array": lambda a: list(a),
    "States.ArrayPartition": _array_partition,
    "States.ArrayContains": lambda a: any(json_equal(v, a[1]) for v in _as_list(a[0], "the array")),
    "States.ArrayRange": _array_range,
    "States.ArrayGetItem": _array_get_item,
    "States.ArrayLength": lambda a: len(_as_list(a[0], "the argument")),
    "States.ArrayUnique": _array_unique,
    "States.Base64Encode": _base64_encode,
    "States.Base64Decode": _base64_decode,
    "States.Hash": _hash,
    "States.JsonMerge": _json_merge,
    "States.MathRandom": _math_random,
    "States.MathAdd": _math_add,
    "States.StringSplit": _string_split,
    "States.UUID": _uuid,
}
