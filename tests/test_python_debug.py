"""raise / assert in Python kernels as numba-cuda compiles them: the raising thread returns; with
cuda.jit(debug=True) the first exception reaches the host with numba-cuda's message and the NumPy
arguments are not copied back."""
import numpy as np
import pytest

import vgpu
from vgpu import cuda


@cuda.jit(device=True)
def doubled(x):
    if x > 100:
        raise ValueError("too big")
    return x * 2


def k_checked(a, o):
    i = cuda.grid(1)
    if i < a.size:
        assert a[i] >= 0, "negative input"
        o[i] = doubled(a[i])


LINE = doubled.py_func.__code__.co_firstlineno + 3     # the raise (co_firstlineno: the decorator)


def _data():
    a = np.arange(64, dtype=np.int64)
    a[40] = 500
    return a


def test_without_debug_the_raising_thread_returns():
    a, o = _data(), np.full(64, -7, np.int64)
    cuda.jit(k_checked)[2, 32](a, o)
    assert o[40] == -7 and o[39] == 78 and o[63] == 126        # only thread 40 skipped its store


def test_debug_raises_on_the_host_with_numbas_message():
    a, o = _data(), np.full(64, -7, np.int64)
    with pytest.raises(ValueError) as e:
        cuda.jit(debug=True)(k_checked)[2, 32](a, o)
    assert str(e.value) == (f"In function 'doubled', file {__file__}, line {LINE}, "
                            f"tid=[0, 0, 8] ctaid=[0, 0, 1]: too big")
    assert (o == -7).all()                                       # no copy back after an exception
    a[40], a[3] = 1, -5
    with pytest.raises(AssertionError, match=r"tid=\[0, 0, 3\] ctaid=\[0, 0, 0\]: negative input"):
        cuda.jit(debug=True)(k_checked)[2, 32](a, o)


def test_debug_launch_without_an_exception_and_a_second_launch():
    k = cuda.jit(debug=True)(k_checked)
    a = np.arange(64, dtype=np.int64)
    o = np.zeros(64, np.int64)
    k[2, 32](a, o)
    assert o.tolist() == (2 * a).tolist()
    a[5] = 1000
    with pytest.raises(ValueError, match="tid=.0, 0, 5. ctaid=.0, 0, 0.: too big"):
        k[2, 32](a, o)
    a[5] = 5
    k[2, 32](a, o)                                               # the error word is cleared per launch


def k_bare_raise(a):
    raise


def k_not_exception(a):
    raise a


def k_raise_from(a):
    raise ValueError("x") from None


@pytest.mark.parametrize("fn,needle", [(k_bare_raise, "bare raise"), (k_not_exception, "exception class"),
                                       (k_raise_from, "raise ... from")])
def test_unsupported_raises(fn, needle):
    with pytest.raises(vgpu.CompileError, match=needle):
        cuda.jit(fn)[1, 1](np.zeros(1))
