"""vgpu's Numba typing rules (vgpu.frontend.python.ntypes) against numba-cuda's own typing context,
over every pair of scalar types and every operator (needs numba-cuda: the `test` extra)."""
import operator

import pytest

from vgpu.frontend.python import ntypes as N

numba_types = pytest.importorskip("numba.core.types")
target = pytest.importorskip("numba.cuda.target")
pytest.importorskip("numba.cuda.fp16")          # registers numba-cuda's float16 operators

NAMES = ["bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float16", "float32",
         "float64"]


@pytest.fixture(scope="module")
def ctx():
    c = target.CUDATypingContext()
    c.refresh()
    return c


def numba_of(name):
    return getattr(numba_types, "boolean" if name == "bool" else name)


def theirs(ctx, op, *names):
    try:
        sig = ctx.resolve_function_type(op, tuple(numba_of(n) for n in names), {})
    except Exception:
        return None
    return None if sig is None else str(sig.return_type)


OPS = {operator.add: N.arith_result, operator.sub: N.arith_result, operator.mul: N.arith_result,
       operator.floordiv: lambda a, b: N.arith_result(a, b, "//"), operator.mod: lambda a, b: N.arith_result(a, b, "%"),
       operator.truediv: N.truediv_result,
       operator.and_: N.bitwise_result, operator.or_: N.bitwise_result, operator.xor: N.bitwise_result,
       operator.lshift: N.shift_result, operator.rshift: N.shift_result}


@pytest.mark.parametrize("op", list(OPS), ids=lambda o: o.__name__)
def test_binary_operators_match_numba(ctx, op):
    for a in NAMES:
        for b in NAMES:
            mine = OPS[op](N.number(a), N.number(b))
            assert (str(mine) if mine else None) == theirs(ctx, op, a, b), (op.__name__, a, b)


def test_pow_matches_numba_for_numbers(ctx):
    for a in NAMES[1:]:
        for b in NAMES[1:]:
            assert str(N.pow_result(N.number(a), N.number(b))) == theirs(ctx, operator.pow, a, b), (a, b)


def test_unify_matches_numba(ctx):
    for a in NAMES:
        for b in NAMES:
            assert str(N.unify(N.number(a), N.number(b))) == str(ctx.unify_types(numba_of(a), numba_of(b))), (a, b)


def test_unary_and_builtins_match_numba(ctx):
    import math
    for a in NAMES:
        t = N.number(a)
        assert str(N.unary_result("neg", t)) == theirs(ctx, operator.neg, a)
        inv = N.unary_result("invert", t)
        assert (str(inv) if inv else None) == theirs(ctx, operator.invert, a)
        assert str(N.abs_result(t)) == theirs(ctx, abs, a)
        assert str(N.math_result([t])) == theirs(ctx, math.sqrt, a)
        for b in NAMES:
            mm = N.minmax_result([t, N.number(b)])
            assert (str(mm) if mm else None) == theirs(ctx, max, a, b), (a, b)


def test_int_float_bool_match_numba(ctx):
    for a in NAMES:
        for fn in (int, float, bool):
            mine = N.builtin_cast_result(fn.__name__, N.number(a))
            assert (str(mine) if mine else None) == theirs(ctx, fn, a), (fn.__name__, a)


def test_conversions_and_comparisons_match_numba(ctx):
    from numba.core.typeconv import Conversion
    kinds = {Conversion.promote: 1, Conversion.safe: 2, Conversion.unsafe: 3}
    for a in NAMES:
        for b in NAMES:
            if a != b:
                assert N.CONVERSION[(a, b)] == kinds[ctx.can_convert(numba_of(a), numba_of(b))], (a, b)
            sig = ctx.resolve_function_type(operator.lt, (numba_of(a), numba_of(b)), {})
            assert str(N.compare_type(N.number(a), N.number(b))) == str(sig.args[0]), (a, b)


def test_range_matches_numba(ctx):
    for a in NAMES[1:9]:
        for b in NAMES[1:9]:
            sig = ctx.resolve_function_type(range, (numba_of(a), numba_of(b)), {})
            assert str(N.range_type([N.number(a), N.number(b)])) == str(sig.return_type.dtype), (a, b)
