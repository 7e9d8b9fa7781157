"""NVVM's fma contraction in Python kernels (the rule observed with numba-cuda + libNVVM, see
vgpu/frontend/python/contract.py), inspect_asm, and faults that name the kernel's .py line."""
import numpy as np
import pytest

import vgpu
from vgpu import cuda

F8 = "void(float64[:], float64[:])"


def _asm(fn):
    return cuda.jit(F8)(fn).inspect_asm(F8)


def count(text, op):
    """Floating-point instructions `op` in the listing (float64[:] is Numba's 'A' layout: its index
    arithmetic multiplies by the stride in integer instructions, which do not count)."""
    return sum(1 for line in text.splitlines()
               if line.strip().startswith(op + ".") and ".f" in line.split()[0])


def k_two_adds(a, o):
    t = a[0] * a[1]
    o[0] = t + a[2]
    o[1] = t + a[3]


def k_other_use(a, o):
    t = a[0] * a[1]
    o[0] = t + a[2]
    o[1] = t * a[3]


def k_sub(a, o):
    o[0] = a[0] * a[1] - a[2]
    o[1] = a[2] - a[0] * a[1]


def k_five_uses(a, o):
    t = a[0] * a[1]
    o[0] = t + a[2]
    o[1] = t + a[3]
    o[2] = t + a[4]
    o[3] = t + a[5]
    o[4] = t + a[6]


def k_store_use(a, o):
    t = a[0] * a[1]
    o[0] = t + a[2]
    o[1] = t


def k_two_products(a, o):
    o[0] = a[0] * a[1] + a[2] * a[3]


def k_sunk_into_branch(a, o):
    t = a[0] * a[1]
    if a[4] > 0:
        o[0] = t + a[2]


@pytest.mark.parametrize("fn,fmas,muls", [
    (k_two_adds, 2, 0), (k_other_use, 0, 2), (k_sub, 0, 2), (k_five_uses, 0, 1), (k_store_use, 0, 1),
    (k_two_products, 1, 1), (k_sunk_into_branch, 1, 0)])
def test_contraction_matches_nvvm(fn, fmas, muls):
    text = _asm(fn)
    assert count(text, "fma") == fmas
    assert count(text, "mul") == muls


def test_contracted_result_is_one_rounding():
    @cuda.jit
    def k(a, o):
        o[0] = a[0] * a[1] + a[2]
    a = np.array([1 + 2.0 ** -30, 1 - 2.0 ** -30, -1.0])
    o = np.zeros(1)
    k[1, 1](a, o)
    assert o[0] == -(2.0 ** -60)          # a*b+c with one rounding; two roundings give 0.0


def test_asm_lists_python_source_lines():
    text = _asm(k_two_adds)
    assert f"{__file__}:{k_two_adds.__code__.co_firstlineno + 2}  o[0] = t + a[2]" in text


def test_fault_names_py_file_and_line():
    @cuda.jit
    def oob(a):
        i = cuda.grid(1)
        a[i * 100000] = 1.0
    with pytest.raises(vgpu.DeviceError) as e:
        oob[1, 32](np.zeros(4, np.float32))
    msg = str(e.value)
    assert f"{__file__}:{oob.py_func.__code__.co_firstlineno + 3}" in msg and "a[i * 100000] = 1.0" in msg
    assert "oob" in msg and "thread" in msg


def test_sanitizers_and_counters_see_python_lines():
    @cuda.jit
    def racy(a):
        s = cuda.shared.array(32, np.int32)
        s[0] = cuda.threadIdx.x          # every thread writes the same word: a race
        cuda.syncthreads()
        a[cuda.threadIdx.x] = s[0]
    a = np.zeros(32, np.int32)
    res = racy.launch((a,), 1, 32, check="racecheck")
    assert res is racy.last_result and res.reports
    line = racy.py_func.__code__.co_firstlineno + 3
    assert any(str(line) in str(r) for r in res.reports)
    assert any(k == line or (isinstance(k, tuple) and line in k) for k in res.line_counts)
