"""Random tier-1 expression kernels (tests/exprgen.py) run on vgpu and compared, lane by lane and bit
for bit, with exprgen's own model of the C++ rules.  A failure prints the kernel and its inputs."""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings

import exprgen
import vgpu
from exprgen import LANES, binary, cast, cond, float_lit, int_lit, leaf, unary

NUMPY = {"int": np.int32, "unsigned": np.uint32, "float": np.float32}
FUZZ = dict(deadline=None, derandomize=True, print_blob=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def run(case: exprgen.Case) -> None:
    mod = vgpu.compile(case.source, filename="fuzz.vk")
    args = [vgpu.to_device(np.array(case.inputs[n], NUMPY[t])) for n, t in exprgen.INPUTS.items()]
    out = vgpu.zeros(LANES, NUMPY[case.out_type])
    mod.get_function("fuzz")(*args, out, grid=2, block=32)
    got, want = out.copy_to_host().tolist(), case.expected()
    bad = [k for k in range(LANES) if not exprgen.same(want[k], got[k], case.out_type)]
    assert not bad, "\n".join([case.source + f"{len(bad)} lanes differ: lane: expected, vgpu gave (inputs)"] +
                              [f"  {k}: {want[k]!r}, {got[k]!r} ({case.lane(k)})" for k in bad[:8]])


@settings(max_examples=60, **FUZZ)
@given(exprgen.cases(floats=False))
def test_integer_expressions(case):
    run(case)


@settings(max_examples=40, **FUZZ)
@given(exprgen.cases(floats=True))
def test_float_expressions(case):
    run(case)


# The model itself, on rules whose answers are known by heart.

def lanes_of(e):
    return e.ty, e.vals[0]


def test_model_literal_types_and_conversions():
    m1 = unary("-", int_lit(1))
    assert lanes_of(binary("<", m1, int_lit(0x80000000, "hex"))) == ("bool", False)   # -1 -> UINT_MAX
    assert lanes_of(binary("<", m1, int_lit(0x7FFFFFFF, "hex"))) == ("bool", True)     # int: signed
    assert lanes_of(binary("/", unary("-", int_lit(7)), int_lit(2))) == ("int", -3)
    assert lanes_of(binary("%", unary("-", int_lit(7)), int_lit(2))) == ("int", -1)
    assert lanes_of(binary(">>", m1, int_lit(3, suffix="u"))) == ("int", -1)           # left operand's type
    assert lanes_of(binary("<<", int_lit(1, suffix="u"), int_lit(31))) == ("unsigned", 1 << 31)
    assert lanes_of(unary("~", exprgen.bool_lit(True))) == ("int", -2)
    assert lanes_of(float_lit("16777217.0", True)) == ("float", 16777216.0)
    assert lanes_of(float_lit("1.000000059604644776390625", True)) == ("float", 1 + 2 ** -23)   # not via double
    f01 = float(np.float32(0.1))
    assert lanes_of(binary("+", float_lit("0.1", True), float_lit("0.2", False))) == ("double", f01 + 0.2)
    assert lanes_of(binary("+", float_lit("0.1", True), float_lit("0.2", True))) == \
        ("float", float(np.float32(0.1) + np.float32(0.2)))


def test_model_rewrites_undefined_behaviour():
    a = leaf("a", "int", [exprgen.INT_MIN] + [5] * (LANES - 1))
    z = leaf("z", "int", [-1] + [0] * (LANES - 1))
    assert binary("/", a, z).src == "a / ((z == 0 ? 1 : z) == -1 ? 1 : z == 0 ? 1 : z)"
    assert binary("+", a, a).src == "(int)((unsigned)a + (unsigned)a)"
    assert binary("+", a, a).vals[:2] == (0, 10)
    assert unary("-", a).src == "(int)-(unsigned)a"
    assert binary("<<", a, z).src == "(int)((unsigned)a << (z & 31))"
    x = leaf("x", "float", [3e9, float("nan")] + [-2.5] * (LANES - 2))
    c = cast("int", x)
    assert c.src == "(int)(x > -2147483649.0 && x < 2147483648.0 ? x : 0.0f)"
    assert c.vals[:3] == (0, 0, -2)
    assert cond(x, int_lit(1), int_lit(2, suffix="u")).vals[:3] == (1, 1, 1)
