"""A small evaluator for the subset of AWS IoT SQL that topic rules commonly use.

Supported: ``SELECT *`` or a list of expressions with ``AS`` aliases (``*`` may be
mixed in), ``FROM 'topic/filter'`` with ``+`` and ``#``, ``WHERE`` with
comparisons (= <> != < <= > >=), AND, OR, NOT, parentheses, arithmetic (+ - * / %),
nested fields (``a.b``), string and number literals, true/false/null, and the
functions topic(), topic(n), clientid(), timestamp(), newuuid(), lower(), upper(),
abs(). As in IoT SQL, a field missing from the message is Undefined: a comparison
with it is not true, and a selected Undefined value is left out of the result.
Anything else is rejected with :class:`SqlError` naming what is supported.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

FUNCTIONS = ("topic", "clientid", "timestamp", "newuuid", "lower", "upper", "abs")


class SqlError(ValueError):
    pass


class _Undefined:
    def __repr__(self) -> str:
        return "Undefined"


UNDEFINED = _Undefined()

TOKEN = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<str>'(?:[^']|'')*')|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
                   r"|(?P<op><>|!=|<=|>=|[=<>(),.*+\-/%]))")
KEYWORDS = ("select", "from", "where", "as", "and", "or", "not", "true", "false", "null")


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT matching: ``+`` is one level, a final ``#`` any number of levels (also none)."""
    f, t = topic_filter.split("/"), topic.split("/")
    if topic.startswith("$") and f[0] in ("+", "#"):
        return False
    for i, part in enumerate(f):
        if part == "#":
            return i == len(f) - 1
        if i >= len(t) or (part != "+" and part != t[i]):
            return False
    return len(f) == len(t)


@dataclass
class Context:
    message: Any
    topic: str
    client_id: str = ""
    timestamp_ms: int = 0


@dataclass
class Query:
    select: list[tuple[Any, str | None]]     # (expression, output name) ; ("*", None) for star
    topic_filter: str
    where: Any = None

    def matches(self, ctx: Context) -> bool:
        return topic_matches(self.topic_filter, ctx.topic) and (
            self.where is None or evaluate(self.where, ctx) is True)

    def project(self, ctx: Context) -> Any:
        """The rule's output message for a matching input."""
        out: dict = {}
        for expr, name in self.select:
            if expr == "*":
                if not isinstance(ctx.message, dict):
                    return ctx.message         # a non-JSON payload passes through as is
                out.update(ctx.message)
                continue
            value = evaluate(expr, ctx)
            if value is not UNDEFINED:
                out[name] = value
        return out


def parse(sql: str) -> Query:
    return _Parser(sql).query()


class _Parser:
    def __init__(self, sql: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos, sql = 0, sql.strip()
        while pos < len(sql):
            m = TOKEN.match(sql, pos)
            if not m or m.end() == pos:
                raise SqlError(f"cannot read the SQL at {sql[pos:pos + 15]!r}")
            kind = m.lastgroup
            value = m.group(kind)
            if kind == "name" and value.lower() in KEYWORDS:
                kind, value = "kw", value.lower()
            self.tokens.append((kind, value))
            pos = m.end()
        self.i = 0

    def peek(self, *values: str) -> bool:
        return self.i < len(self.tokens) and self.tokens[self.i][1] in values and self.tokens[self.i][0] in ("kw", "op")

    def take(self, *values: str) -> str:
        if not self.peek(*values):
            got = self.tokens[self.i][1] if self.i < len(self.tokens) else "the end"
            raise SqlError(f"expected {' or '.join(values)}, found {got!r}")
        self.i += 1
        return self.tokens[self.i - 1][1]

    def query(self) -> Query:
        self.take("select")
        select = [self.item()]
        while self.peek(","):
            self.take(",")
            select.append(self.item())
        self.take("from")
        if self.i >= len(self.tokens) or self.tokens[self.i][0] != "str":
            raise SqlError("FROM needs a quoted topic filter such as 'sensors/+/telemetry'")
        topic = self.tokens[self.i][1][1:-1].replace("''", "'")
        self.i += 1
        where = None
        if self.peek("where"):
            self.take("where")
            where = self.expr()
        if self.i != len(self.tokens):
            raise SqlError(f"unexpected {self.tokens[self.i][1]!r}; supported: SELECT ... FROM '...' WHERE ...")
        return Query(select, topic, where)

    def item(self):
        if self.peek("*"):
            self.take("*")
            return ("*", None)
        expr = self.expr()
        if self.peek("as"):
            self.take("as")
            kind, name = self.tokens[self.i]
            if kind != "name":
                raise SqlError(f"AS needs a name, found {name!r}")
            self.i += 1
            return (expr, name)
        return (expr, _default_name(expr))

    def expr(self):
        left = self.conj()
        while self.peek("or"):
            self.take("or")
            left = ("or", left, self.conj())
        return left

    def conj(self):
        left = self.neg()
        while self.peek("and"):
            self.take("and")
            left = ("and", left, self.neg())
        return left

    def neg(self):
        if self.peek("not"):
            self.take("not")
            return ("not", self.neg())
        left = self.sum()
        if self.peek("=", "<>", "!=", "<", "<=", ">", ">="):
            op = self.take("=", "<>", "!=", "<", "<=", ">", ">=")
            return ("cmp", op, left, self.sum())
        return left

    def sum(self):
        left = self.product()
        while self.peek("+", "-"):
            left = ("arith", self.take("+", "-"), left, self.product())
        return left

    def product(self):
        left = self.unary()
        while self.peek("*", "/", "%"):
            left = ("arith", self.take("*", "/", "%"), left, self.unary())
        return left

    def unary(self):
        if self.peek("-"):
            self.take("-")
            return ("arith", "-", ("lit", 0), self.unary())
        return self.primary()

    def primary(self):
        if self.i >= len(self.tokens):
            raise SqlError("the SQL ends too early")
        kind, value = self.tokens[self.i]
        self.i += 1
        if kind == "num":
            return ("lit", float(value) if "." in value else int(value))
        if kind == "str":
            return ("lit", value[1:-1].replace("''", "'"))
        if kind == "kw" and value in ("true", "false", "null"):
            return ("lit", {"true": True, "false": False, "null": None}[value])
        if kind == "op" and value == "(":
            inner = self.expr()
            self.take(")")
            return inner
        if kind == "name":
            if self.peek("("):
                return self.call(value.lower())
            path = [value]
            while self.peek("."):
                self.take(".")
                path.append(self.tokens[self.i][1])
                self.i += 1
            return ("field", path)
        raise SqlError(f"unexpected {value!r} in the SQL")

    def call(self, name: str):
        if name not in FUNCTIONS:
            raise SqlError(f"unknown function {name}(); supported: {', '.join(FUNCTIONS)}")
        self.take("(")
        args = []
        if not self.peek(")"):
            args.append(self.expr())
            while self.peek(","):
                self.take(",")
                args.append(self.expr())
        self.take(")")
        return ("call", name, args)


def _default_name(expr) -> str:
    if expr[0] == "field":
        return expr[1][-1]
    if expr[0] == "call":
        return expr[1]
    raise SqlError("an expression in SELECT needs a name: add AS <name>")


def evaluate(expr, ctx: Context) -> Any:
    kind = expr[0]
    if kind == "lit":
        return expr[1]
    if kind == "field":
        value = ctx.message
        for part in expr[1]:
            if not isinstance(value, dict) or part not in value:
                return UNDEFINED
            value = value[part]
        return value
    if kind == "call":
        return _call(expr[1], [evaluate(a, ctx) for a in expr[2]], ctx)
    if kind == "not":
        v = evaluate(expr[1], ctx)
        return UNDEFINED if not isinstance(v, bool) else not v
    if kind in ("and", "or"):
        a, b = evaluate(expr[1], ctx), evaluate(expr[2], ctx)
        if kind == "and":
            return False if a is False or b is False else (True if a is True and b is True else UNDEFINED)
        return True if a is True or b is True else (False if a is False and b is False else UNDEFINED)
    a, b = evaluate(expr[2], ctx), evaluate(expr[3], ctx)
    if a is UNDEFINED or b is UNDEFINED or a is None or b is None:
        return UNDEFINED
    try:
        if kind == "cmp":
            return {"=": a == b, "<>": a != b, "!=": a != b, "<": a < b if _comparable(a, b) else UNDEFINED,
                    "<=": a <= b if _comparable(a, b) else UNDEFINED, ">": a > b if _comparable(a, b) else UNDEFINED,
                    ">=": a >= b if _comparable(a, b) else UNDEFINED}[expr[1]]
        return {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b,
                "%": lambda: a % b}[expr[1]]()
    except (TypeError, ZeroDivisionError):
        return UNDEFINED


def _comparable(a, b) -> bool:
    numbers = (int, float)
    return (isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool)) or \
        (isinstance(a, str) and isinstance(b, str))


def _call(name: str, args: list, ctx: Context) -> Any:
    if name == "topic":
        if not args:
            return ctx.topic
        parts = ctx.topic.split("/")
        n = args[0]
        return parts[n - 1] if isinstance(n, int) and 1 <= n <= len(parts) else UNDEFINED
    if name == "clientid":
        return ctx.client_id or UNDEFINED
    if name == "timestamp":
        return ctx.timestamp_ms
    if name == "newuuid":
        return str(uuid.uuid4())
    value = args[0] if args else UNDEFINED
    if name in ("lower", "upper"):
        return getattr(value, name)() if isinstance(value, str) else UNDEFINED
    return abs(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else UNDEFINED


def substitute(template: str, ctx: Context) -> str:
    """Expand ``${expression}`` substitution templates of a rule action."""
    def one(m: re.Match) -> str:
        value = evaluate(_Parser(m.group(1)).expr(), ctx)
        return "" if value is UNDEFINED or value is None else str(value)
    return re.sub(r"\$\{([^}]*)\}", one, template)
