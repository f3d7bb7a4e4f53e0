"""A calculator that walks the parsed expression tree and never calls eval.

Arithmetic is exact where it can be: numbers are Fractions (a literal like 0.1 is read from its
source text, so 0.1 + 0.2 is exactly 0.3), integers stay integers and 18/2 prints as 9. Only
sqrt of a non-square, a fractional power and the constants pi/e fall back to floats. Every
intermediate value is bounded (digits, exponent, nesting, input length) so a short expression
such as 9**9**9 cannot eat the machine: it is refused before it is computed.
"""

from __future__ import annotations

import ast
import math
import operator
from fractions import Fraction

Number = Fraction | float


class CalcError(ValueError):
    """A short message the model (or a person) can read: 'division by zero', ..."""


class CalcLimit(CalcError):
    """A bound stopped the calculation (length, nesting, digits, exponent)."""


def _log10_abs(x: Number) -> float:
    if isinstance(x, Fraction):
        if x == 0:
            return -math.inf
        n, d = abs(x.numerator), x.denominator
        return (n.bit_length() - d.bit_length()) * math.log10(2)
    return math.log10(abs(x)) if x else -math.inf


class _Evaluator:
    def __init__(self, src: str, max_depth: int, max_digits: int, max_exponent: int):
        self.src = src
        self.max_depth = max_depth
        self.max_digits = max_digits
        self.max_exponent = max_exponent
        self.limit = 10 ** max_digits  # any exact value must have at most max_digits digits

    def check(self, x: Number) -> Number:
        if isinstance(x, float):
            if math.isnan(x) or math.isinf(x):
                raise CalcLimit("result too large or undefined")
            if abs(x) >= 10.0 ** self.max_digits:
                raise CalcLimit("result too large")
            return x
        # Fractions: bound both parts so the next operation stays cheap
        if abs(x.numerator) >= self.limit:
            raise CalcLimit("result too large")
        if x.denominator >= self.limit:
            raise CalcLimit("result too precise (denominator too large)")
        return x

    def ev(self, node: ast.AST, depth: int) -> Number:
        if depth > self.max_depth:
            raise CalcLimit("expression nested too deeply")
        if isinstance(node, ast.Expression):
            return self.ev(node.body, depth + 1)
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise CalcError(f"unsupported value {v!r}")
            text = ast.get_source_segment(self.src, node) or repr(v)
            try:
                return self.check(Fraction(text.replace("_", "")))
            except (ValueError, ZeroDivisionError):
                return self.check(float(v))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            x = self.ev(node.operand, depth + 1)
            return -x if isinstance(node.op, ast.USub) else x
        if isinstance(node, ast.BinOp):
            a = self.ev(node.left, depth + 1)
            b = self.ev(node.right, depth + 1)
            return self.check(self.binop(node.op, a, b))
        if isinstance(node, ast.Name):
            if node.id in _CONSTANTS:
                return _CONSTANTS[node.id]
            raise CalcError(f"unknown name '{node.id}'")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCS:
                name = node.func.id if isinstance(node.func, ast.Name) else "?"
                raise CalcError(f"unknown function '{name}' (have: {', '.join(sorted(_FUNCS))})")
            if node.keywords or len(node.args) > 16:
                raise CalcError(f"bad arguments to {node.func.id}")
            args = [self.ev(a, depth + 1) for a in node.args]
            return self.check(_FUNCS[node.func.id](*args))
        if isinstance(node, ast.Compare):
            raise CalcError("comparisons are not supported")
        raise CalcError(f"unsupported syntax '{type(node).__name__}'")

    def binop(self, op: ast.operator, a: Number, b: Number) -> Number:
        try:
            if isinstance(op, ast.Pow):
                return self.power(a, b)
            fn = _BINOPS.get(type(op))
            if fn is None:
                raise CalcError(f"unsupported operator '{type(op).__name__}'")
            return fn(a, b)
        except ZeroDivisionError:
            raise CalcError("division by zero") from None
        except OverflowError:
            raise CalcLimit("result too large") from None

    def power(self, a: Number, b: Number) -> Number:
        if isinstance(b, Fraction) and b.denominator == 1 and isinstance(a, Fraction):
            e = b.numerator
            if abs(e) > self.max_exponent and abs(a) not in (0, 1):
                raise CalcLimit(f"exponent too large (limit {self.max_exponent})")
            # size of the result before computing it: digits(a**e) ~ e * log10|a|
            if (a != 0 and abs(e) * max(abs(_log10_abs(a)), _log10_abs(Fraction(a.denominator)))
                    > self.max_digits + 1):
                raise CalcLimit("result too large" if (abs(a) > 1) == (e > 0)
                                else "result too small to show exactly")
            if a == 0 and e < 0:
                raise ZeroDivisionError
            return a ** e
        fa, fb = float(a), float(b)
        if fa < 0 and not fb.is_integer():
            raise CalcError("fractional power of a negative number")
        if fa == 0 and fb < 0:
            raise ZeroDivisionError
        if fa != 0 and fb * math.log10(abs(fa)) > self.max_digits:
            raise CalcLimit("result too large")
        return math.pow(fa, fb)


def _sqrt(x: Number) -> Number:
    if x < 0:
        raise CalcError("square root of a negative number")
    if isinstance(x, Fraction):
        n, d = math.isqrt(x.numerator), math.isqrt(x.denominator)
        if n * n == x.numerator and d * d == x.denominator:
            return Fraction(n, d)
    return math.sqrt(x)


def _round(x: Number, nd: Number | None = None) -> Number:
    if nd is None:
        return Fraction(round(x))
    if not (isinstance(nd, Fraction) and nd.denominator == 1 and abs(nd) <= 50):
        raise CalcError("round() digits must be a small integer")
    r = round(x, int(nd))
    return r if isinstance(r, Fraction) else float(r)


def _minmax(fn):
    def f(*args: Number) -> Number:
        if not args:
            raise CalcError(f"{fn.__name__}() needs at least one number")
        return fn(args)
    return f


def _int_fn(fn):
    def f(x: Number) -> Number:
        return Fraction(fn(x))
    return f


_BINOPS = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: lambda a, b: Fraction(a // b), ast.Mod: operator.mod,
}
_FUNCS = {
    "sqrt": _sqrt, "abs": abs, "round": _round, "min": _minmax(min), "max": _minmax(max),
    "floor": _int_fn(math.floor), "ceil": _int_fn(math.ceil),
}
_CONSTANTS: dict[str, Number] = {"pi": math.pi, "e": math.e}


def format_number(x: Number, max_digits: int = 100) -> str:
    """Integers as integers, terminating fractions as exact decimals, the rest to 12 digits."""
    if isinstance(x, Fraction):
        if x.denominator == 1:
            return str(x.numerator)
        d = x.denominator
        twos = fives = 0
        while d % 2 == 0:
            d //= 2
            twos += 1
        while d % 5 == 0:
            d //= 5
            fives += 1
        if d == 1 and max(twos, fives) <= max_digits:
            places = max(twos, fives)
            scaled = abs(x.numerator) * 10 ** places // x.denominator
            s = str(scaled).rjust(places + 1, "0")
            return ("-" if x < 0 else "") + s[:-places] + "." + s[-places:]
        x = float(x)
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    s = format(x, ".12g")
    return s


def evaluate(expr: str, max_chars: int = 200, max_depth: int = 32, max_digits: int = 100,
             max_exponent: int = 1000) -> str:
    """The value of an arithmetic expression as text; raises CalcError with a short message."""
    src = expr.strip()
    if not src:
        raise CalcError("empty expression")
    if len(src) > max_chars:
        raise CalcLimit(f"expression too long (limit {max_chars} characters)")
    # the ways people write arithmetic that Python spells differently
    src = src.replace("^", "**").replace("×", "*").replace("÷", "/").replace("−", "-")
    src = src.rstrip("=").strip()
    try:
        tree = ast.parse(src, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise CalcError("invalid expression") from None
    ev = _Evaluator(src, max_depth, max_digits, max_exponent)
    try:
        value = ev.ev(tree, 0)
    except RecursionError:
        raise CalcLimit("expression nested too deeply") from None
    except (OverflowError, ValueError, TypeError) as e:
        if isinstance(e, CalcError):
            raise
        raise CalcLimit("result too large or undefined") from None
    return format_number(value, max_digits)
