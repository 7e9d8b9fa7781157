"""The differential fuzzer against C (tests/cfuzz, docs/fuzzing.md): a fixed-seed slice of random UB-free
kernels must give the same output bytes on vgpu as the equivalent C program built with gcc (UBSan on);
plus checks that the fuzzer itself can fail: its interval analysis, a planted difference it must find and
shrink, a planted undefined behaviour UBSan must report.  Without gcc the slice is skipped locally and
fails under CI=true.  `python benchmarks/fuzz.py --count N --seed S` runs thousands offline."""
from __future__ import annotations

import os
import random

import pytest

from cfuzz.ctype import I8, I16, I32, I64, U8, U16, U32, U64, common, promote
from cfuzz.expr import E, int_binop
from cfuzz.kernel import Kernel
from cfuzz.run import check, gcc, ubsan_available
from cfuzz.shrink import report, shrink
from cfuzz.stmt import Line

SLICE = range(0, 40)          # about 30 s on one core of the 2-core CI machine


def need_gcc():
    if gcc() is None:
        if os.environ.get("CI"):
            pytest.fail("gcc (or cc) is required for the differential fuzzer under CI=true")
        pytest.skip("no C compiler: the differential fuzzer needs gcc")


def test_fixed_seed_slice(tmp_path):
    need_gcc()
    failures, reports, shrunk = [], [], set()
    for seed in SLICE:
        k = Kernel(seed)
        o = check(k, tmp_path / f"k{seed}")
        if o.ok:
            continue
        failures.append(f"seed {seed}: {o.category}: {o.signature}")
        if (o.category, o.signature) not in shrunk and len(shrunk) < 2:
            shrunk.add((o.category, o.signature))
            o = shrink(k, tmp_path / f"k{seed}", o, budget_s=20)
            reports.append(f"seed {seed}, shrunk:\n" + report(k, o, tmp_path / f"k{seed}"))
    assert not failures, "\n".join(failures + reports)


def test_generation_is_deterministic():
    a, b = Kernel(123), Kernel(123)
    assert (a.vk(), a.header(), a.data) == (b.vk(), b.header(), b.data)
    assert a.vk() != Kernel(124).vk()


def _c_int(op, x, y, t):
    """x op y in C on type t with mathematically exact operands (None: undefined)."""
    if op in "/%":
        if y == 0 or (t.signed and x == t.lo and y == -1):
            return None
        q = abs(x) // abs(y) * (1 if (x >= 0) == (y >= 0) else -1)
        v = q if op == "/" else x - q * y
    elif op == "<<":
        v = x << y
    elif op == ">>":
        v = x >> y
    else:
        v = {"+": x + y, "-": x - y, "*": x * y}[op]
    return v


@pytest.mark.parametrize("op", ["+", "-", "*", "/", "%", "<<", ">>"])
def test_interval_analysis_is_sound(op):
    """Whenever int_binop accepts an operation without rewriting it, every operand pair in the intervals
    gives a defined result inside the claimed interval."""
    rng = random.Random(op)
    types = [I8, U8, I16, U16, I32, U32, I64, U64]
    for _ in range(3000):
        ta, tb = rng.choice(types), rng.choice(types)

        def interval(t):
            a = rng.choice([t.lo, t.hi, 0, 1, -1 if t.signed else 2, rng.randint(t.lo, t.hi),
                            rng.randint(-40, 40) if t.signed else rng.randint(0, 40)])
            b = rng.choice([a, t.hi, a + rng.randint(0, 70), rng.randint(a, t.hi)])
            return max(t.lo, min(a, t.hi)), max(t.lo, min(max(a, b), t.hi))
        (alo, ahi), (blo, bhi) = interval(ta), interval(tb)
        e = int_binop(op, E("a", ta, alo, ahi), E("b", tb, blo, bhi), None)
        if e is None:
            continue
        rt = promote(ta) if op in ("<<", ">>") else common(ta, tb)
        assert e.ty == rt
        for x in {alo, ahi, (alo + ahi) // 2}:
            for y in {blo, bhi, (blo + bhi) // 2}:
                xc = x if op in ("<<", ">>") else (x % (1 << rt.bits) if not rt.signed else x)
                yc = y if op in ("<<", ">>") else (y % (1 << rt.bits) if not rt.signed else y)
                v = _c_int(op, xc, yc, rt)
                assert v is not None, (op, ta, tb, (alo, ahi), (blo, bhi), x, y)
                if rt.signed:
                    assert rt.lo <= v <= rt.hi, ("overflow", op, ta, tb, (alo, ahi), (blo, bhi), x, y)
                    assert e.lo <= v <= e.hi, ("range", op, (alo, ahi), (blo, bhi), x, y, e)
                elif e.lo <= v % (1 << rt.bits) <= e.hi:
                    pass
                else:
                    assert (e.lo, e.hi) == (rt.lo, rt.hi), ("range", op, (alo, ahi), (blo, bhi), x, y, e)


class _Planted(Line):
    """A statement that the C program and the kernel spell differently: a difference the fuzzer must find."""

    def render(self, lang, ind):
        value = "7" if lang == "vk" else "8"
        return ind + ("outi[gid * 4u] = " if lang == "vk" else "outi[S->gid * 4u] = ") + value + ";\n"


def test_planted_difference_is_found_and_shrunk(tmp_path):
    need_gcc()
    for seed in range(20):      # later statements may overwrite the planted slot: take a kernel where not
        k = Kernel(seed)
        k.body[0].append(_Planted(""))             # segment 0: every thread runs it
        o = check(k, tmp_path)
        if o.category == "mismatch":
            break
    assert o.category == "mismatch", o
    assert "C 8" in o.detail and "vgpu 7" in o.detail
    before = k.vk().count(";")
    o = shrink(k, tmp_path, o, budget_s=40)
    assert o.category == "mismatch"
    assert "= 7;" in k.vk() and k.vk().count(";") < before


def test_ubsan_reports_planted_undefined_behaviour(tmp_path):
    need_gcc()
    if not ubsan_available():
        pytest.skip("gcc without UBSan here: the fuzzer then relies on its own proofs only")
    k = Kernel(3)

    class _Overflow(Line):
        def render(self, lang, ind):
            return ind + ("{ int big = 2147483647 - (int)threadIdx.x; big += 1 + (int)threadIdx.x; "
                          "outi[$gid * 4u] = big; }\n").replace("$", "" if lang == "vk" else "S->")
    k.body[0].append(_Overflow(""))
    o = check(k, tmp_path)
    assert o.category == "c-ub" and "overflow" in o.signature, o
