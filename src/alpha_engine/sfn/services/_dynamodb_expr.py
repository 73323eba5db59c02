"""DynamoDB expressions over items in DynamoDB JSON (``{"S": "x"}``, ``{"N": "1"}``...).

``compile_condition`` turns a ConditionExpression into ``item -> bool``; ``compile_update``
turns an UpdateExpression into ``item -> (new item, updated top-level names)``. Both resolve
``#name``/``:value`` placeholders at compile time and raise :class:`ValidationError` with
DynamoDB's wording for malformed text or undefined placeholders.

Supported: comparisons ``= <> < <= > >=``, ``BETWEEN``, ``IN``, ``AND``/``OR``/``NOT``,
parentheses, ``attribute_exists``, ``attribute_not_exists``, ``attribute_type``,
``begins_with``, ``contains``, ``size``; ``SET`` (with ``+``/``-``, ``if_not_exists``,
``list_append``), ``REMOVE``, ``ADD`` (numbers and sets), ``DELETE`` (sets). Document paths
are ``name``, ``#name``, ``a.b`` and ``a[0]``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "Item",
    "ValidationError",
    "canonical_number",
    "compile_condition",
    "compile_projection",
    "compile_update",
    "validate_item",
]

Item = dict[str, Any]  # attribute name -> typed value ({"S": ...}, {"N": ...}, ...)
Path = tuple[str | int, ...]
_TYPES = ("S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS")


class ValidationError(Exception):
    """A request DynamoDB would reject with ValidationException; the message is DynamoDB's."""


def canonical_number(text: str) -> str:
    """DynamoDB's canonical form of a number: ``"1.50"`` -> ``"1.5"``, ``"1e2"`` -> ``"100"``."""
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValidationError(f"The parameter cannot be converted to a numeric value: {text}") from None
    if not number.is_finite():
        raise ValidationError(f"The parameter cannot be converted to a numeric value: {text}")
    return format(number.normalize(), "f") if number != 0 else "0"


def validate_value(value: Any) -> Any:
    """Check one typed value and return it with numbers in canonical form."""
    if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in _TYPES:
        raise ValidationError(
            "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
        )
    kind, inner = next(iter(value.items()))
    if kind == "N":
        return {"N": canonical_number(str(inner))}
    if kind == "NS":
        return {"NS": sorted({canonical_number(str(n)) for n in inner}, key=Decimal)}
    if kind == "M":
        return {"M": validate_item(inner)}
    if kind == "L":
        return {"L": [validate_value(v) for v in inner]}
    if kind in ("SS", "BS") and (not isinstance(inner, list) or not inner):
        raise ValidationError("One or more parameter values were invalid: An string set  may not be empty")
    return value


def validate_item(item: Any) -> Item:
    if not isinstance(item, dict):
        raise ValidationError("One or more parameter values were invalid: an item must be a map")
    return {name: validate_value(value) for name, value in item.items()}


# -- values ----------------------------------------------------------------------------------


def _equal(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return False
    ka, va = next(iter(a.items()))
    kb, vb = next(iter(b.items()))
    if ka != kb:
        return False
    if ka == "N":
        return bool(Decimal(va) == Decimal(vb))
    if ka == "NS":
        return {Decimal(x) for x in va} == {Decimal(x) for x in vb}
    if ka in ("SS", "BS"):
        return set(va) == set(vb)
    if ka == "M":
        return va.keys() == vb.keys() and all(_equal(va[k], vb[k]) for k in va)
    if ka == "L":
        return len(va) == len(vb) and all(_equal(x, y) for x, y in zip(va, vb, strict=True))
    return bool(va == vb)


def _order(a: Any, b: Any) -> int | None:
    """-1/0/1 for comparable scalars of one type (N, S, B); None otherwise (compares false)."""
    if a is None or b is None:
        return None
    ka, va = next(iter(a.items()))
    kb, vb = next(iter(b.items()))
    if ka != kb or ka not in ("N", "S", "B"):
        return None
    x, y = (
        (Decimal(va), Decimal(vb))
        if ka == "N"
        else (va.encode() if ka == "S" else va, vb.encode() if ka == "S" else vb)
    )
    return (x > y) - (x < y)


def _get(item: Mapping[str, Any], path: Path) -> Any:
    value: Any = {"M": item}
    for step in path:
        if isinstance(step, str):
            inner = value.get("M") if isinstance(value, dict) else None
            if not isinstance(inner, dict) or step not in inner:
                return None
            value = inner[step]
        else:
            inner = value.get("L") if isinstance(value, dict) else None
            if not isinstance(inner, list) or step >= len(inner):
                return None
            value = inner[step]
    return value


def _size(value: Any) -> Any:
    if value is None:
        return None
    kind, inner = next(iter(value.items()))
    if kind in ("S",):
        return {"N": str(len(inner))}
    if kind in ("B", "SS", "NS", "BS", "L", "M"):
        return {"N": str(len(inner))}
    return None


# -- tokens ----------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<op><>|<=|>=|=|<|>|\(|\)|\[|\]|,|\.|\+|-)|(?P<value>:[A-Za-z0-9_]+)"
    r"|(?P<name>#[A-Za-z0-9_]+)|(?P<num>\d+)|(?P<word>[A-Za-z_][A-Za-z0-9_]*))"
)


class _Parser:
    def __init__(self, text: str, what: str, names: Mapping[str, str], values: Mapping[str, Any]) -> None:
        self.text, self.what, self.names, self.values = text, what, names, values
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            match = _TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                self.fail(text[pos:].strip()[:1] or text[pos : pos + 1])
            assert match is not None and match.lastgroup is not None
            self.tokens.append((match.lastgroup, match.group(match.lastgroup)))
            pos = match.end()
        self.i = 0

    def fail(self, token: str) -> None:
        raise ValidationError(f'Invalid {self.what}: Syntax error; token: "{token}", near: "{self.text}"')

    def peek(self, offset: int = 0) -> tuple[str, str]:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else ("end", "<EOF>")

    def take(self) -> tuple[str, str]:
        token = self.peek()
        self.i += 1
        return token

    def expect(self, text: str) -> None:
        kind, tok = self.take()
        if tok.upper() != text:
            self.fail(tok)

    def is_word(self, word: str, offset: int = 0) -> bool:
        kind, tok = self.peek(offset)
        return kind == "word" and tok.upper() == word

    def path(self) -> Path:
        steps: list[str | int] = [self.path_name()]
        while True:
            if self.peek()[1] == ".":
                self.take()
                steps.append(self.path_name())
            elif self.peek()[1] == "[":
                self.take()
                kind, tok = self.take()
                if kind != "num":
                    self.fail(tok)
                steps.append(int(tok))
                self.expect("]")
            else:
                return tuple(steps)

    def path_name(self) -> str:
        kind, tok = self.take()
        if kind == "name":
            if tok not in self.names:
                raise ValidationError(
                    f"Invalid {self.what}: An expression attribute name used in the document path is not "
                    f"defined; attribute name: {tok}"
                )
            return self.names[tok]
        if kind != "word":
            self.fail(tok)
        return tok

    def value(self, token: str) -> Any:
        if token not in self.values:
            raise ValidationError(
                f"Invalid {self.what}: An expression attribute value used in expression is not defined; "
                f"attribute value: {token}"
            )
        return validate_value(self.values[token])

    def done(self) -> None:
        if self.i != len(self.tokens):
            self.fail(self.peek()[1])


Operand = Callable[[Mapping[str, Any]], Any]
Condition = Callable[[Mapping[str, Any]], bool]

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": _equal,
    "<>": lambda a, b: a is not None and b is not None and not _equal(a, b),
    "<": lambda a, b: _order(a, b) == -1,
    "<=": lambda a, b: _order(a, b) in (-1, 0),
    ">": lambda a, b: _order(a, b) == 1,
    ">=": lambda a, b: _order(a, b) in (0, 1),
}


def compile_condition(
    text: str, names: Mapping[str, str], values: Mapping[str, Any], what: str = "ConditionExpression"
) -> Condition:
    """Compile a ConditionExpression to a predicate over an item (``{}`` when it is absent)."""
    parser = _Parser(text, what, names, values)
    condition = _or(parser)
    parser.done()
    return condition


def _or(p: _Parser) -> Condition:
    parts = [_and(p)]
    while p.is_word("OR"):
        p.take()
        parts.append(_and(p))
    return parts[0] if len(parts) == 1 else (lambda item: any(c(item) for c in parts))


def _and(p: _Parser) -> Condition:
    parts = [_not(p)]
    while p.is_word("AND"):
        p.take()
        parts.append(_not(p))
    return parts[0] if len(parts) == 1 else (lambda item: all(c(item) for c in parts))


def _not(p: _Parser) -> Condition:
    if p.is_word("NOT"):
        p.take()
        inner = _not(p)
        return lambda item: not inner(item)
    return _primary(p)


def _primary(p: _Parser) -> Condition:
    kind, tok = p.peek()
    if tok == "(":
        p.take()
        inner = _or(p)
        p.expect(")")
        return inner
    if kind == "word" and p.peek(1)[1] == "(" and tok.lower() != "size":
        return _function(p, tok.lower())
    left = _operand(p)
    kind, tok = p.peek()
    if tok in _COMPARE:
        p.take()
        right = _operand(p)
        compare = _COMPARE[tok]
        return lambda item: compare(left(item), right(item))
    if p.is_word("BETWEEN"):
        p.take()
        low = _operand(p)
        p.expect("AND")
        high = _operand(p)
        return lambda item: (
            _order(low(item), left(item)) in (-1, 0) and _order(left(item), high(item)) in (-1, 0)
        )
    if p.is_word("IN"):
        p.take()
        p.expect("(")
        options = [_operand(p)]
        while p.peek()[1] == ",":
            p.take()
            options.append(_operand(p))
        p.expect(")")
        return lambda item: any(_equal(left(item), o(item)) for o in options)
    p.fail(tok)
    raise AssertionError("unreachable")


def _function(p: _Parser, name: str) -> Condition:
    p.take()
    p.expect("(")
    if name in ("attribute_exists", "attribute_not_exists"):
        path = p.path()
        p.expect(")")
        if name == "attribute_exists":
            return lambda item: _get(item, path) is not None
        return lambda item: _get(item, path) is None
    first = _operand(p)
    p.expect(",")
    second = _operand(p)
    p.expect(")")
    if name == "attribute_type":
        return lambda item: (v := first(item)) is not None and next(iter(v)) == (second(item) or {}).get("S")
    if name == "begins_with":

        def begins(item: Mapping[str, Any]) -> bool:
            a, b = first(item), second(item)
            if a is None or b is None or next(iter(a)) != next(iter(b)) or next(iter(a)) not in ("S", "B"):
                return False
            return bool(a[next(iter(a))].startswith(b[next(iter(b))]))

        return begins
    if name == "contains":

        def contains(item: Mapping[str, Any]) -> bool:
            a, b = first(item), second(item)
            if a is None or b is None:
                return False
            ka, va = next(iter(a.items()))
            kb, vb = next(iter(b.items()))
            if ka == "S" and kb == "S":
                return vb in va
            if ka in ("SS", "BS") and kb == ka[0]:
                return vb in va
            if ka == "NS" and kb == "N":
                return Decimal(vb) in {Decimal(x) for x in va}
            if ka == "L":
                return any(_equal(x, b) for x in va)
            return False

        return contains
    raise ValidationError(f"Invalid {p.what}: Invalid function name; function: {name}")


def _operand(p: _Parser) -> Operand:
    kind, tok = p.peek()
    if kind == "value":
        p.take()
        constant = p.value(tok)
        return lambda item: constant
    if kind == "word" and tok.lower() == "size" and p.peek(1)[1] == "(":
        p.take()
        p.expect("(")
        path = p.path()
        p.expect(")")
        return lambda item: _size(_get(item, path))
    if kind in ("word", "name"):
        path = p.path()
        return lambda item: _get(item, path)
    p.fail(tok)
    raise AssertionError("unreachable")


# -- projection ------------------------------------------------------------------------------


def compile_projection(text: str, names: Mapping[str, str]) -> Callable[[Item], Item]:
    """A ProjectionExpression: keep only the listed (top-level or nested map) paths."""
    parser = _Parser(text, "ProjectionExpression", names, {})
    paths = [parser.path()]
    while parser.peek()[1] == ",":
        parser.take()
        paths.append(parser.path())
    parser.done()

    def project(item: Item) -> Item:
        out: Item = {}
        for path in paths:
            value = _get(item, path)
            if value is not None:
                _set(out, path, value, create=True)
        return out

    return project


# -- update ----------------------------------------------------------------------------------


def _set(item: Item, path: Path, value: Any, *, create: bool = False) -> None:
    target: Any = item
    for step in path[:-1]:
        if isinstance(step, str):
            if step not in target and create:
                target[step] = {"M": {}}
            node = target.get(step) if isinstance(target, dict) else None
        else:
            node = target[step] if isinstance(target, list) and step < len(target) else None
        if not isinstance(node, dict) or ("M" not in node and "L" not in node):
            raise ValidationError("The document path provided in the update expression is invalid for update")
        target = node.get("M", node.get("L"))
    last = path[-1]
    if isinstance(last, str) and isinstance(target, dict):
        target[last] = value
    elif isinstance(last, int) and isinstance(target, list):
        if last < len(target):
            target[last] = value
        else:
            target.append(value)
    else:
        raise ValidationError("The document path provided in the update expression is invalid for update")


def _remove(item: Item, path: Path) -> None:
    parent: Any = _get(item, path[:-1]) if len(path) > 1 else {"M": item}
    last = path[-1]
    if parent is None:
        return
    if isinstance(last, str) and isinstance(parent.get("M"), dict):
        parent["M"].pop(last, None)
    elif isinstance(last, int) and isinstance(parent.get("L"), list) and last < len(parent["L"]):
        del parent["L"][last]


def _arith(a: Any, b: Any, sign: int) -> Any:
    if a is None or b is None or "N" not in a or "N" not in b:
        raise ValidationError("An operand in the update expression has an incorrect data type")
    return {"N": canonical_number(str(Decimal(a["N"]) + sign * Decimal(b["N"])))}


def _update_operand(p: _Parser) -> Operand:
    kind, tok = p.peek()
    if kind == "word" and p.peek(1)[1] == "(":
        name = tok.lower()
        p.take()
        p.expect("(")
        if name == "if_not_exists":
            path = p.path()
            p.expect(",")
            default = _update_operand(p)
            p.expect(")")
            return lambda item: v if (v := _get(item, path)) is not None else default(item)
        if name == "list_append":
            first = _update_operand(p)
            p.expect(",")
            second = _update_operand(p)
            p.expect(")")

            def append(item: Mapping[str, Any]) -> Any:
                a, b = first(item), second(item)
                if a is None or b is None or "L" not in a or "L" not in b:
                    raise ValidationError("An operand in the update expression has an incorrect data type")
                return {"L": [*a["L"], *b["L"]]}

            return append
        raise ValidationError(f"Invalid UpdateExpression: Invalid function name; function: {name}")
    return _operand(p)


Update = Callable[[Item], tuple[Item, set[str]]]


def compile_update(text: str, names: Mapping[str, str], values: Mapping[str, Any]) -> Update:
    """Compile an UpdateExpression; every right-hand side reads the item as it was before."""
    p = _Parser(text, "UpdateExpression", names, values)
    sets: list[tuple[Path, Operand]] = []
    removes: list[Path] = []
    adds: list[tuple[Path, Any]] = []
    deletes: list[tuple[Path, Any]] = []
    seen: set[str] = set()
    while p.peek()[0] != "end":
        kind, tok = p.take()
        clause = tok.upper()
        if kind != "word" or clause not in ("SET", "REMOVE", "ADD", "DELETE") or clause in seen:
            p.fail(tok)
        seen.add(clause)
        while True:
            path = p.path()
            if clause == "SET":
                p.expect("=")
                left = _update_operand(p)
                if p.peek()[1] in ("+", "-"):
                    sign = 1 if p.take()[1] == "+" else -1
                    right = _update_operand(p)
                    sets.append(
                        (
                            path,
                            (lambda lo, ro, s: lambda item: _arith(lo(item), ro(item), s))(left, right, sign),
                        )
                    )
                else:
                    sets.append((path, left))
            elif clause == "REMOVE":
                removes.append(path)
            else:
                kind, tok = p.take()
                if kind != "value":
                    p.fail(tok)
                (adds if clause == "ADD" else deletes).append((path, p.value(tok)))
            if p.peek()[1] != ",":
                break
            p.take()
    if not seen:
        p.fail("<EOF>")

    def apply(item: Item) -> tuple[Item, set[str]]:
        import copy

        new = copy.deepcopy(item)
        touched: set[str] = set()
        for path, operand in sets:
            value = operand(item)
            if value is None:
                raise ValidationError(
                    "The provided expression refers to an attribute that does not exist in the item"
                )
            _set(new, path, value)
            touched.add(str(path[0]))
        for path in removes:
            _remove(new, path)
            touched.add(str(path[0]))
        for path, operand_value in adds:
            _add(new, path, operand_value)
            touched.add(str(path[0]))
        for path, operand_value in deletes:
            _delete(new, path, operand_value)
            touched.add(str(path[0]))
        return new, touched

    return apply


def _add(item: Item, path: Path, value: Any) -> None:
    current = _get(item, path)
    kind = next(iter(value))
    if kind == "N":
        _set(item, path, _arith(current or {"N": "0"}, value, 1))
    elif kind in ("SS", "NS", "BS"):
        if current is not None and kind not in current:
            raise ValidationError("An operand in the update expression has an incorrect data type")
        merged = list(dict.fromkeys([*(current or {kind: []})[kind], *value[kind]]))
        _set(item, path, validate_value({kind: merged}))
    else:
        raise ValidationError(
            "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, "
            f"operand type: {kind}"
        )


def _delete(item: Item, path: Path, value: Any) -> None:
    current = _get(item, path)
    kind = next(iter(value))
    if current is None:
        return
    if kind not in ("SS", "NS", "BS") or kind not in current:
        raise ValidationError("An operand in the update expression has an incorrect data type")
    drop = {Decimal(x) for x in value[kind]} if kind == "NS" else set(value[kind])
    kept = [x for x in current[kind] if (Decimal(x) if kind == "NS" else x) not in drop]
    if kept:
        _set(item, path, {kind: kept})
    else:
        _remove(item, path)
