"""Random expressions: vgpu's Python kernels against Numba itself (numba.njit on the CPU with the CUDA
target's 'numpy' error model).  Numba's CPU and CUDA targets share the typing rules and the lowering of
integer and floating-point operators, so the same expression over the same array elements must give the
same bits.  Excluded where the targets differ: float `a*b + c` (NVVM contracts it, the CPU does not:
tests/test_python_nvvm.py covers that), transcendental functions (libdevice vs libm), float-to-int
conversions out of range, shifts by 64 or more, signed 64-bit overflow (Numba emits `nsw`: undefined in
LLVM on both targets, so 32- and 64-bit inputs are kept small), and integer division by 0 or of the
minimum by -1 (the CPU traps; tests/test_python_kernels.py checks those against Python)."""
import importlib.util
import random

import numpy as np
import pytest

numba = pytest.importorskip("numba")

INT_TYPES = ["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64"]
FLOAT_TYPES = ["float32", "float64", "int32", "int64", "uint8"]
N_ELEMS = 64


def _int_expr(rng, names, depth):
    if depth == 0 or rng.random() < 0.25:
        if rng.random() < 0.25:
            return str(rng.choice([0, 1, 2, 3, 7, -1, -5, 100, 255]))
        return rng.choice(names)
    kind = rng.random()
    a, b = _int_expr(rng, names, depth - 1), _int_expr(rng, names, depth - 1)
    if kind < 0.55:
        op = rng.choice(["+", "-", "*", "//", "%", "&", "|", "^"])
        if op in ("//", "%"):     # divisors 2..9 or -9..-2: x86 traps on / 0 and MIN / -1 (tested elsewhere)
            b = f"({'-' if rng.random() < 0.5 else ''}(({b} & 7) + 2))"
        return f"({a} {op} {b})"
    if kind < 0.65:
        return f"({a} {rng.choice(['<<', '>>'])} {rng.choice([0, 1, 3, 13, 31])})"
    if kind < 0.75:
        return f"({rng.choice(['-', '~'])}{a})"
    if kind < 0.85:
        return f"({a} {rng.choice(['<', '<=', '==', '!=', '>', '>='])} {b})"
    if kind < 0.92:
        return f"abs({a})"
    # np.int64(): a uint64/int64 pair would unify to float64, and huge floats convert to int as UB
    return f"(np.int64({a}) if {a} > {b} else np.int64({b}))"


def _float_expr(rng, names, depth, under_add=False):
    if depth == 0 or rng.random() < 0.25:
        if rng.random() < 0.3:
            return rng.choice(["0.5", "3.0", "-2.25", "1e-3", "7", "-3"])
        return rng.choice(names)
    kind = rng.random()
    if kind < 0.6:
        # (no float // or %: on the GPU LLVM's frem is NVPTX's inexact expansion, on the CPU exact fmod;
        # tests/test_python_kernels.py checks the GPU's against a model of that expansion)
        op = rng.choice(["+", "-", "*", "/"])
        if under_add and op == "*":
            op = "/"
        # no product directly under + or -: NVVM would contract it and the CPU would not
        a = _float_expr(rng, names, depth - 1, op in "+-")
        b = _float_expr(rng, names, depth - 1, op in "+-")
        return f"({a} {op} {b})"
    if kind < 0.7 and not under_add:     # x ** 2 is a product: under + NVVM would contract it too
        # a leaf base (nested powers of ints overflow int64: undefined, see above); int ** -1 raises on
        # the CPU for a 0 base
        return f"({rng.choice(names)} ** {rng.choice([2, 3, 0])})"
    a = _float_expr(rng, names, depth - 1, under_add)
    if kind < 0.8:
        # (not math.floor/ceil/trunc: the CPU target types them int64, the CUDA target float)
        return f"{rng.choice(['math.sqrt', 'abs', 'math.fabs'])}({a})"
    if kind < 0.9:
        b = _float_expr(rng, names, depth - 1, under_add)
        return f"{rng.choice(['min', 'max'])}({a}, {b})"
    return f"(-{a})"


def _module(tmp_path, name, exprs, nargs, out_dtype):
    args = ", ".join(f"a{k}" for k in range(nargs))
    loads = "".join(f"            x{k} = a{k}[i]\n" for k in range(nargs))
    cells = loads + "\n".join(f"            out[i, {k}] = {e}" for k, e in enumerate(exprs))
    cells_cpu = cells.replace("            ", "        ")
    src = f'''import math
import numba
import numpy as np
from vgpu import cuda


@cuda.jit
def gpu(out, {args}):
    i = cuda.grid(1)
    if i < out.shape[0]:
        if True:
{cells}


@numba.njit(error_model="numpy")
def cpu(out, {args}):
    for i in range(out.shape[0]):
{cells_cpu}
'''
    path = tmp_path / f"{name}.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _data(rng, types):
    out = []
    for t in types:
        dt = np.dtype(t)
        if dt.kind == "f":
            vals = rng.uniform(-100, 100, N_ELEMS).astype(dt)
            vals[:4] = [0.0, -0.0, 1.0, -1.5]
        elif dt.itemsize <= 2:      # narrow types: any value (they compute widened to 64 bits)
            info = np.iinfo(dt)
            vals = rng.integers(info.min, info.max, N_ELEMS, dtype=dt, endpoint=True)
            vals[:5] = np.array([0, 1, info.min, info.max, 2], dtype=np.int64).astype(dt)
        else:                       # small values: Numba marks signed arithmetic nsw (overflow undefined)
            lo = 0 if dt.kind == "u" else -100
            vals = rng.integers(lo, 100, N_ELEMS, endpoint=True).astype(dt)
            vals[:3] = [0, 1, 2]
        out.append(vals)
    return out


def _compare(tmp_path, name, exprs, types, out_dtype, seed):
    mod = _module(tmp_path, name, exprs, len(types), out_dtype)
    data = _data(np.random.default_rng(seed), types)
    want = np.zeros((N_ELEMS, len(exprs)), out_dtype)
    got = np.zeros_like(want)
    with np.errstate(all="ignore"):
        mod.cpu(want, *data)
    mod.gpu[1, N_ELEMS](got, *data)
    for k, e in enumerate(exprs):
        g, w = got[:, k], want[:, k]
        if g.dtype.kind == "f":      # a NaN's sign and payload are the hardware's (x86 and the GPU differ)
            nan = np.isnan(g) & np.isnan(w)
            g, w = np.where(nan, 0, g), np.where(nan, 0, w)
        assert g.tobytes() == w.tobytes(), (e, types, got[:, k], want[:, k])


@pytest.mark.parametrize("seed", range(2))
def test_integer_expressions_match_numba(tmp_path, seed):
    rng = random.Random(seed)
    types = [rng.choice(INT_TYPES) for _ in range(3)]
    names = ["x0", "x1", "x2"]
    exprs = [_int_expr(rng, names, 3) for _ in range(32)]
    _compare(tmp_path, f"ints{seed}", exprs, types, np.int64, seed)


@pytest.mark.parametrize("seed", range(2))
def test_float_expressions_match_numba(tmp_path, seed):
    rng = random.Random(100 + seed)
    types = [rng.choice(FLOAT_TYPES) for _ in range(3)]
    names = ["x0", "x1", "x2"]
    exprs = [_float_expr(rng, names, 3) for _ in range(32)]
    _compare(tmp_path, f"floats{seed}", exprs, types, np.float64, seed)
