"""JSONata (``{% ... %}``) for JSONata-language states, on top of ``jsonata-python``.

Every expression is parsed once, when the definition is loaded (:func:`compile_jsonata`,
:func:`compile_jsonata_template`); evaluation only walks the parsed tree against a
:class:`JsonataScope`.

What AWS adds to JSONata 2.0.6, and what this module does about it:

* ``$states`` (input, context, and where allowed result / errorOutput) and the workflow
  variables are visible as ``$states`` and ``$name``; they are looked up lazily through a
  per-evaluation frame, so evaluation cost does not grow with the number of variables.
* Step Functions functions: ``$partition``, ``$range``, ``$hash``, ``$random([seed])``
  (``java.util.Random``-compatible when seeded), ``$uuid`` and ``$parse``; ``$eval`` is
  removed (calling it fails with ``T1006``, as on AWS).
* Determinism: unseeded ``$random()`` and ``$uuid()`` draw from the
  :class:`~alpha_engine.sfn.IdSource` of the execution being run, and ``$now()``/``$millis()``
  read its :class:`~alpha_engine.sfn.Clock` once per expression evaluation (every call inside
  one expression reports the same instant). Both reach the functions through
  :mod:`._sources`; evaluating them outside an execution raises ``NondeterminismError``.
* Results are JSON-native: JSONata ``null`` becomes ``None``, sequences become lists,
  integral floats become ints (AWS prints ``3.0`` as ``3``). An undefined result, an
  evaluation error or a function-valued result raise ``States.QueryEvaluationError`` with
  AWS's cause text. Results may share structure with the scope's values: treat them as
  immutable.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import math
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from jsonata import JException, Jsonata
from jsonata.functions import Functions
from jsonata.parser import Parser
from jsonata.utils import Utils

from ._errors import ExpressionError, NondeterminismError, StatesError
from ._json import compact_json, json_type_name
from ._sources import current_sources
from ._vocabulary import ERROR_QUERY_EVALUATION, is_jsonata

__all__ = [
    "CompiledJsonata",
    "JsonataScope",
    "TemplateFn",
    "compile_jsonata",
    "compile_jsonata_template",
    "java_random_double",
    "unexpected_type_error",
]

# Above 2**53 a float no longer stands for one integer; AWS would print it in exponent form.
_MAX_EXACT_FLOAT: Final = float(2**53)


@dataclass(frozen=True, slots=True)
class JsonataScope:
    """What an expression can see.

    ``states`` is the ``$states`` object (``input``, ``context`` and, only where the field
    allows it, ``result`` / ``errorOutput``); ``variables`` are the workflow variables, bound
    as ``$name``. Time and randomness come from the execution's sources (see :mod:`._sources`).
    """

    states: Mapping[str, Any]
    variables: Mapping[str, Any] = field(default_factory=dict)


TemplateFn = Callable[[JsonataScope], Any]


# --------------------------------------------------------------------------------------------
# The evaluation in progress
# --------------------------------------------------------------------------------------------


class _Evaluation:
    """One run of one expression: where ``$random()``/``$uuid()`` draw from, and the one instant
    ``$now()``/``$millis()`` report (read from the engine clock at the first call, then constant
    for the rest of the expression, as JSONata specifies)."""

    __slots__ = ("_millis",)

    def __init__(self) -> None:
        self._millis: int | None = None

    def rng(self) -> random.Random:
        return current_sources("JSONata $random()/$uuid()").rng

    def millis(self) -> int:
        if self._millis is None:
            self._millis = current_sources("JSONata $now()/$millis()").now_millis()
        return self._millis


# A ContextVar keeps concurrent evaluations (Map/Parallel tasks) apart.
_current_evaluation: contextvars.ContextVar[_Evaluation | None] = contextvars.ContextVar(
    "alpha_engine_sfn_jsonata_evaluation", default=None
)


def _evaluation() -> _Evaluation:
    current = _current_evaluation.get()
    return current if current is not None else _Evaluation()


# --------------------------------------------------------------------------------------------
# Step Functions' own JSONata functions
# --------------------------------------------------------------------------------------------


class _FunctionFailed(Exception):
    """A Step Functions function rejected its arguments; the message is the whole reason."""


_JAVA_MULTIPLIER: Final = 0x5DEECE66D
_JAVA_MASK: Final = (1 << 48) - 1


def java_random_double(seed: int) -> float:
    """The first ``nextDouble()`` of ``new java.util.Random(seed)``: AWS's seeded ``$random``."""
    state = (seed ^ _JAVA_MULTIPLIER) & _JAVA_MASK

    def next_bits(bits: int) -> int:
        nonlocal state
        state = (state * _JAVA_MULTIPLIER + 0xB) & _JAVA_MASK
        return state >> (48 - bits)

    high = next_bits(26)
    low = next_bits(27)
    return ((high << 27) + low) * 2.0**-53


def _java_long(value: float) -> int:
    # Java's (long) cast: truncate toward zero, saturate at the long range.
    if math.isnan(value):
        return 0
    if value >= 2.0**63:
        return 2**63 - 1
    if value <= -(2.0**63):
        return -(2**63)
    return int(value)


_HASHES: Final[dict[str, str]] = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


def _as_int(value: Any, function: str, argument: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _FunctionFailed(f"The {argument} argument of ${function} must be an integer, got {value!r}")
    if isinstance(value, float):
        if not value.is_integer():
            raise _FunctionFailed(f"The {argument} argument of ${function} must be an integer, got {value!r}")
        return int(value)
    return value


class _StepFunctionsFunctions:
    """Implementations bound as JSONata native functions (looked up by name by the library)."""

    @staticmethod
    def partition(array: Any, size: Any) -> Any:
        items = list(array) if isinstance(array, list) else [array]
        chunk = _as_int(size, "partition", "second")
        if chunk <= 0:
            raise _FunctionFailed(f"The chunk size of $partition must be a positive integer, got {chunk}")
        # A plain list (not a JSONata sequence): a single chunk stays wrapped, [[0]] on AWS.
        return [items[i : i + chunk] for i in range(0, len(items), chunk)]

    @staticmethod
    def range(start: Any, end: Any, step: Any) -> Any:
        first = _as_int(start, "range", "first")
        last = _as_int(end, "range", "second")
        stride = _as_int(step, "range", "third")
        if stride == 0:
            raise _FunctionFailed("The step of $range must not be zero")
        values = range(first, last + (1 if stride > 0 else -1), stride)
        if len(values) > 1_000_000:
            raise _FunctionFailed(f"$range would allocate {len(values)} elements; the limit is 1000000")
        # A JSONata sequence: a one-element range collapses to its element, as AWS returns
        # $range(1, 9, 9) -> 1.
        return Utils.create_sequence_from_iter(values)

    @staticmethod
    def hash(value: Any, algorithm: Any) -> Any:
        name = _HASHES.get(algorithm) if isinstance(algorithm, str) else None
        if name is None:
            allowed = ", ".join(_HASHES)
            raise _FunctionFailed(f"The hash algorithm of $hash must be one of {allowed}, got {algorithm!r}")
        return hashlib.new(name, str(value).encode("utf-8")).hexdigest()

    @staticmethod
    def random(seed: Any) -> Any:
        if seed is None:
            return _evaluation().rng().random()
        return java_random_double(_java_long(float(seed)))

    @staticmethod
    def uuid() -> Any:
        return current_sources("JSONata $uuid()").ids.uuid()

    @staticmethod
    def parse(text: Any) -> Any:
        try:
            value = json.loads(text)
        except (TypeError, ValueError) as err:
            raise _FunctionFailed(f"$parse could not parse {text!r} as JSON: {err}") from err
        # JSON null must stay JSONata null, not undefined.
        return Utils.NULL_VALUE if value is None else value

    @staticmethod
    def now(picture: Any, timezone: Any) -> Any:
        return Functions.datetime_from_millis(_evaluation().millis(), picture, timezone)

    @staticmethod
    def millis() -> Any:
        return _evaluation().millis()


def _build_step_functions_frame() -> Jsonata.Frame:
    frame = Jsonata.Frame(Jsonata.static_frame)
    signatures = {
        "partition": "<an:a>",
        "range": "<nnn:a<n>>",
        "hash": "<ss:s>",
        "random": "<n?:n>",
        "uuid": "<:s>",
        "parse": "<s-:x>",
        "now": "<s?s?:s>",
        "millis": "<:n>",
    }
    for name, signature in signatures.items():
        frame.bind(name, Jsonata.function(name, signature, _StepFunctionsFunctions, name))
    # AWS removes $eval: an unbound name makes a call fail with T1006 as it does there. None
    # (not absence) is needed so the lookup stops here instead of reaching the built-in.
    frame.bind("eval", None)
    return frame


_STEP_FUNCTIONS_FRAME: Final = _build_step_functions_frame()


# Debug callbacks the library looks up around every node; this runtime never installs them.
_TRACE_HOOKS: Final = frozenset({"__evaluate_entry", "__evaluate_exit"})


class _ScopeFrame(Jsonata.Frame):  # type: ignore[misc]  # the library is untyped
    """The root frame of one evaluation: ``$states`` and the variables, looked up on demand."""

    __slots__ = ("_states", "_variables")

    def __init__(self, states: Any, variables: Mapping[str, Any]) -> None:
        super().__init__(_STEP_FUNCTIONS_FRAME)
        self._states = states
        self._variables = variables

    def lookup(self, name: str) -> Any:
        value = self.bindings.get(name, Utils.NONE)
        if value is not Utils.NONE:
            return value
        if name in _TRACE_HOOKS:
            # Asked twice per AST node; answering here saves walking two more frames each time.
            return None
        if name == "states":
            return self._states
        value = self._variables.get(name, Utils.NONE)
        if value is not Utils.NONE:
            # A variable holding JSON null is JSONata null; the library reads None as undefined.
            return Utils.NULL_VALUE if value is None else value
        return _STEP_FUNCTIONS_FRAME.lookup(name)


# --------------------------------------------------------------------------------------------
# Results and errors
# --------------------------------------------------------------------------------------------


class _UnsupportedResult(Exception):
    """The result holds a function or a regex: no JSON form."""


def _to_json(value: Any) -> Any:
    """The JSON-native form of a JSONata value, copying only containers that change."""
    if value is None or value is Utils.NULL_VALUE:
        return None
    kind = type(value)
    if kind is str or kind is int or kind is bool:
        return value
    if kind is float:
        if math.isnan(value) or math.isinf(value):
            raise JException("D1001", -1, value)
        if value.is_integer() and abs(value) < _MAX_EXACT_FLOAT:
            return int(value)
        return value
    if isinstance(value, dict):
        out: dict[str, Any] | None = None
        for key, item in value.items():
            converted = _to_json(item)
            if converted is not item and out is None:
                out = dict(value)
            if out is not None:
                out[key] = converted
        return value if out is None else out
    if isinstance(value, list):
        # JSONata sequences (JList, RangeList) always become plain lists.
        items = [_to_json(item) for item in value]
        if kind is list and all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return items
    raise _UnsupportedResult(type(value).__name__)


_PLACEHOLDER = re.compile(r"\{\{\{?(\w+)\}?\}\}")
_ARRAY_SUBTYPES: Final = {
    "a": "arrays",
    "b": "booleans",
    "f": "functions",
    "n": "numbers",
    "o": "objects",
    "s": "strings",
}


def _render_jsonata_message(err: JException) -> str:
    """The jsonata-js wording of a library error (the library's catalogue says ``Object`` for
    ``function`` and leaves some placeholders unfilled)."""
    template = JException.error_codes.get(err.error)
    if template is None:
        return str(err)
    template = template.replace("Object", "function")
    values = [err.current, err.expected, err.extra]
    if err.error == "T0412" and isinstance(err.extra, str):
        values[2] = _ARRAY_SUBTYPES.get(err.extra, err.extra)
    position = 0

    def fill(match: re.Match[str]) -> str:
        nonlocal position
        value = values[position] if position < len(values) else None
        position += 1
        if match.group(0).startswith("{{{"):
            return str(value)
        return _json_text(value)

    return _PLACEHOLDER.sub(fill, template)


def _json_text(value: Any) -> str:
    if value is Utils.NULL_VALUE or value is None:
        return "null"
    try:
        return compact_json(_to_json(value))
    except (_UnsupportedResult, JException, TypeError, ValueError):
        return str(value)


def unexpected_type_error(expression: str, field: str, expected: str, value: Any) -> StatesError:
    """AWS's error for a field whose expression gave the wrong JSON type (Map ``Items``...).

    ``expression`` is the text between ``{%`` and ``%}`` (:attr:`CompiledJsonata.text`).
    """
    shown = compact_json(value)
    return StatesError(
        ERROR_QUERY_EVALUATION,
        f"The JSONata expression '{expression}' specified for the field '{field}' returned an "
        f"unexpected result type. Expected '{expected}', but was '{json_type_name(value)}' "
        f"for value: {shown}",
    )


# --------------------------------------------------------------------------------------------
# Compiled expressions
# --------------------------------------------------------------------------------------------


# Attributes a parsed node always carries; any other attribute set (a predicate, a focus
# binding, a group...) takes the node off the fast path.
_PLAIN_NODE_ATTRIBUTES: Final = frozenset(
    {"_outer_instance", "type", "value", "position", "bp", "lbp", "id", "level", "steps"}
)


def _is_plain(node: Any, kind: str) -> bool:
    if getattr(node, "type", None) != kind:
        return False
    return all(
        key in _PLAIN_NODE_ATTRIBUTES or value is None or value is False
        for key, value in vars(node).items()
    )


def _simple_path(ast: Any) -> tuple[str, tuple[str, ...]] | None:
    """``$name.key.key...`` with nothing else (no predicates, wildcards, functions): the
    variable and the keys, for the dictionary-walk fast path; None for anything else."""
    if _is_plain(ast, "variable") and ast.value:
        return str(ast.value), ()
    if not _is_plain(ast, "path"):
        return None
    steps = ast.steps or []
    if not steps or not _is_plain(steps[0], "variable") or not steps[0].value:
        return None
    keys: list[str] = []
    for step in steps[1:]:
        if not _is_plain(step, "name") or not isinstance(step.value, str):
            return None
        keys.append(step.value)
    return str(steps[0].value), tuple(keys)


class CompiledJsonata:
    """One parsed ``{% ... %}`` expression; evaluate it any number of times, on any thread."""

    __slots__ = ("text", "_ast", "_engine", "_path")

    def __init__(self, text: str, engine: Jsonata) -> None:
        self.text = text
        self._engine = engine
        self._ast = engine.ast
        self._path = _simple_path(engine.ast)

    def __repr__(self) -> str:
        return f"CompiledJsonata({self.text!r})"

    def _prefix(self, field_path: str) -> str:
        return f"The JSONata expression '{self.text}' specified for the field '{field_path}'"

    def evaluate(self, scope: JsonataScope, field: str) -> Any:
        """The expression's JSON value; ``field`` is its place in the state (``Output/result``).

        Raises ``StatesError('States.QueryEvaluationError', ...)`` when the result is
        undefined or not representable as JSON, or when evaluation fails.
        """
        if self._path is not None:
            value = self._walk_simple_path(scope, self._path)
            if value is not Utils.NONE:
                return _to_json(value)
        states = scope.states if type(scope.states) is dict else dict(scope.states)
        frame = _ScopeFrame(states, scope.variables)
        frame.bindings["$"] = None
        token = _current_evaluation.set(_Evaluation())
        try:
            raw = self._engine.eval(self._ast, None, frame)
            if raw is None:
                raise StatesError(ERROR_QUERY_EVALUATION, f"{self._prefix(field)} returned nothing (undefined).")
            return _to_json(raw)
        except (StatesError, NondeterminismError):
            raise
        except _UnsupportedResult:
            raise StatesError(
                ERROR_QUERY_EVALUATION, f"{self._prefix(field)} returned an unsupported result type."
            ) from None
        except JException as err:
            raise StatesError(
                ERROR_QUERY_EVALUATION,
                f"{self._prefix(field)} threw an error during evaluation. "
                f"{err.error}: {_render_jsonata_message(err)}",
            ) from err
        except _FunctionFailed as err:
            raise StatesError(
                ERROR_QUERY_EVALUATION, f"{self._prefix(field)} threw an error during evaluation: {err}"
            ) from err
        except RecursionError as err:
            raise StatesError(
                ERROR_QUERY_EVALUATION,
                f"{self._prefix(field)} threw an error during evaluation. "
                f"D1011: {JException.error_codes['D1011']}",
            ) from err
        except (ZeroDivisionError, OverflowError) as err:
            # JavaScript's Infinity, which JSONata rejects as out of range.
            raise StatesError(
                ERROR_QUERY_EVALUATION,
                f"{self._prefix(field)} threw an error during evaluation. D1001: Number out of range",
            ) from err
        except Exception as err:  # noqa: BLE001 - any library fault is the expression's failure
            raise StatesError(
                ERROR_QUERY_EVALUATION, f"{self._prefix(field)} threw an internal error during evaluation."
            ) from err
        finally:
            _current_evaluation.reset(token)

    def _walk_simple_path(self, scope: JsonataScope, path: tuple[str, tuple[str, ...]]) -> Any:
        """``$var.a.b`` by plain dictionary lookups, or ``Utils.NONE`` to let the engine decide.

        Only the shapes whose JSONata result is obvious are answered here: objects all the way
        down, ending on any value. Arrays on the way (JSONata maps over them), missing keys,
        unknown variables (maybe a function) go to the engine, which also words the errors.
        """
        name, keys = path
        if name == "states":
            value: Any = scope.states if type(scope.states) is dict else dict(scope.states)
        else:
            value = scope.variables.get(name, Utils.NONE)
        for key in keys:
            if type(value) is not dict:
                return Utils.NONE
            value = value.get(key, Utils.NONE)
        return value

    def references(self) -> frozenset[str]:
        """Workflow variable names the expression reads (``$x``), best effort.

        Excludes ``$states``, names bound inside the expression (``:=``, lambda parameters,
        ``@$x``/``#$i``) and built-in functions called by name.
        """
        used: set[str] = set()
        local: set[str] = set()
        called: set[str] = set()
        for node in _walk(self._ast):
            kind = getattr(node, "type", None)
            if kind == "variable" and node.value:
                used.add(str(node.value))
            elif kind == "bind" and getattr(node.lhs, "type", None) == "variable":
                local.add(str(node.lhs.value))
            elif kind == "lambda":
                local.update(str(arg.value) for arg in node.arguments or [] if getattr(arg, "value", None))
            elif kind in ("function", "partial"):
                procedure = node.procedure
                if getattr(procedure, "type", None) == "variable":
                    called.add(str(procedure.value))
            for attribute in ("focus", "index"):
                name = getattr(node, attribute, None)
                if isinstance(name, str) and name:
                    local.add(name)
        builtins = {name for name in called if _STEP_FUNCTIONS_FRAME.lookup(name) is not None}
        return frozenset(used - local - builtins - {"states"})

    def states_references(self) -> frozenset[str]:
        """Fields of ``$states`` the expression reads (``input``, ``result``...), for scope checks."""
        found: set[str] = set()
        for node in _walk(self._ast):
            if getattr(node, "type", None) != "path":
                continue
            steps = node.steps or []
            if len(steps) >= 2 and steps[0].type == "variable" and steps[0].value == "states":
                if steps[1].type == "name":
                    found.add(str(steps[1].value))
        return frozenset(found)


def _walk(root: Any) -> list[Any]:
    """Every AST node under ``root`` (the library's Symbol objects), each once."""
    seen: set[int] = set()
    out: list[Any] = []
    stack = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
            continue
        if not isinstance(item, Parser.Symbol) or id(item) in seen:
            continue
        seen.add(id(item))
        out.append(item)
        for key, value in vars(item).items():
            if key != "_outer_instance" and isinstance(value, (Parser.Symbol, list, tuple)):
                stack.append(value)
    return out


def _strip(text: str) -> str:
    if not is_jsonata(text):
        raise ExpressionError(f"'{text}' is not a JSONata expression: it must start with '{{%' and end with '%}}'", text)
    return text[2:-2].strip()


def compile_jsonata(text: str) -> CompiledJsonata:
    """Parse ``{% expr %}`` once; ExpressionError names the expression and the parser's reason."""
    inner = _strip(text)
    if not inner:
        raise ExpressionError(f"The JSONata expression in '{text}' is empty", text)
    try:
        engine = Jsonata(inner)
    except JException as err:
        raise ExpressionError(
            f"The JSONata expression '{inner}' is invalid: {err.error}: {_render_jsonata_message(err)} "
            f"(at character {err.location})",
            text,
        ) from err
    except Exception as err:  # noqa: BLE001 - a parser crash is still a malformed expression
        raise ExpressionError(f"The JSONata expression '{inner}' is invalid: {err}", text) from err
    if engine.errors:
        raise ExpressionError(f"The JSONata expression '{inner}' is invalid: {engine.errors[0]}", text)
    return CompiledJsonata(inner, engine)


# --------------------------------------------------------------------------------------------
# Templates: Output, Arguments, Assign values, Items...
# --------------------------------------------------------------------------------------------


def _copy_literal(value: Any) -> Any:
    # Literals are copied per evaluation so a caller mutating a result cannot change the definition.
    if isinstance(value, dict):
        return {key: _copy_literal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy_literal(item) for item in value]
    return value


def _is_static(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_is_static(item) for item in value.values())
    if isinstance(value, list):
        return all(_is_static(item) for item in value)
    return not is_jsonata(value)


def compile_jsonata_template(value: Any, field: str) -> TemplateFn:
    """Compile a JSON value whose strings may be ``{% %}`` expressions into ``scope -> value``.

    Object keys extend the field path with ``/key`` and array items with ``[i]``
    (``Output/values[0]``), the way AWS names the failing place.
    """
    if _is_static(value):
        if isinstance(value, (dict, list)):
            literal = value
            return lambda scope: _copy_literal(literal)
        return lambda scope: value
    if isinstance(value, str):
        compiled = compile_jsonata(value)
        return lambda scope: compiled.evaluate(scope, field)
    if isinstance(value, dict):
        parts = [(key, compile_jsonata_template(item, f"{field}/{key}")) for key, item in value.items()]
        return lambda scope: {key: part(scope) for key, part in parts}
    items = [compile_jsonata_template(item, f"{field}[{index}]") for index, item in enumerate(value)]
    return lambda scope: [item(scope) for item in items]
