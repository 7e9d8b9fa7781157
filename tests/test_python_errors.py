"""Python outside the kernel subset is a CompileError at its .py line, with a caret, never a silent run."""
import numpy as np
import pytest

import vgpu
from vgpu import cuda


def helper(x):
    return x + 1


def _compile_error(fn, *args):
    k = cuda.jit(fn)
    with pytest.raises(vgpu.CompileError) as e:
        k[1, 1](*args)
    text = str(e.value)
    assert __file__ in text and "^" in text
    return text


A = np.zeros(4, np.float32)


def k_list(a):
    x = [1, 2]
    a[0] = x[0]


def k_dict(a):
    d = {}


def k_try(a):
    try:
        a[0] = 1
    except Exception:
        pass


def k_with(a):
    with open("x"):
        pass


def k_comp(a):
    s = [i for i in range(3)]


def k_npzeros(a):
    t = np.zeros(3)


def k_recursive(a):
    k_recursive(a)


def k_python_call(a):
    a[0] = helper(1)


def k_array_as_scalar(a):
    a[0] = a + 1


def k_return_value(a):
    return 1


def k_float_index(a):
    a[1.5] = 0


def k_undefined(a):
    a[0] = nothing


def k_lambda(a):
    f = lambda x: x


def k_partial_index(a):
    a[0] = 1


@pytest.mark.parametrize("fn,needle,line", [
    (k_list, "list creation", k_list.__code__.co_firstlineno + 1),
    (k_dict, "dict creation", k_dict.__code__.co_firstlineno + 1),
    (k_try, "try/except", k_try.__code__.co_firstlineno + 1),
    (k_with, "with is not supported", k_with.__code__.co_firstlineno + 1),
    (k_comp, "comprehensions", k_comp.__code__.co_firstlineno + 1),
    (k_npzeros, "np.zeros allocates", k_npzeros.__code__.co_firstlineno + 1),
    (k_recursive, "is not a device function", k_recursive.__code__.co_firstlineno + 1),
    (k_python_call, "not a device function", k_python_call.__code__.co_firstlineno + 1),
    (k_array_as_scalar, "unsupported operand types", k_array_as_scalar.__code__.co_firstlineno + 1),
    (k_return_value, "cannot return a value", k_return_value.__code__.co_firstlineno + 1),
    (k_float_index, "index must be an integer", k_float_index.__code__.co_firstlineno + 1),
    (k_undefined, "name 'nothing' is not defined", k_undefined.__code__.co_firstlineno + 1),
    (k_lambda, "lambda", k_lambda.__code__.co_firstlineno + 1),
])
def test_rejected_construct(fn, needle, line):
    text = _compile_error(fn, A)
    assert needle in text
    assert f"{__file__}:{line}:" in text


def test_recursive_device_function():
    @cuda.jit(device=True)
    def f(x):
        return f(x - 1)

    @cuda.jit
    def k(a):
        a[0] = f(3)
    with pytest.raises(vgpu.CompileError, match="recursive call"):
        k[1, 1](A)


def k_array_into_view(a):
    a[0] = a[1]


def test_storing_to_a_sub_array():
    a = np.zeros((2, 2))
    cuda.jit(k_partial_index)[1, 1](a)          # a number into a view: every element (Numba's broadcast)
    assert a.tolist() == [[1.0, 1.0], [0.0, 0.0]]
    with pytest.raises(vgpu.CompileError, match="into an array view is not supported"):
        cuda.jit(k_array_into_view)[1, 1](np.zeros((2, 2)))


def k_step_zero(a, o):
    o[0] = a[::0][0]


def k_zero_d_view(a, o):
    v = a[..., 0]
    o[0] = v[0]


def k_two_ellipses(a, o):
    o[0] = a[..., ...][0]


def k_too_many_indices(a, o):
    o[0] = a[0, :][0]


@pytest.mark.parametrize("fn,needle", [
    (k_step_zero, "slice step cannot be zero"), (k_zero_d_view, "0-d array view"),
    (k_two_ellipses, "only one ellipsis"), (k_too_many_indices, "cannot index a 1-d array with 2 indices")])
def test_bad_views(fn, needle):
    assert needle in _compile_error(fn, np.zeros(4), np.zeros(1))


def k_elem(a):
    a[0, 0] = 1


def test_non_contiguous_numpy_argument_is_numbas_value_error():
    k = cuda.jit(k_elem)
    with pytest.raises(ValueError, match="non-contiguous buffer"):
        k[1, 1](np.zeros((4, 4))[:, ::2])


def k_dim3_attr(a):
    t = cuda.threadIdx
    a[0] = t.w


def k_tuple_oob(a):
    a[0] = a.shape[3]


def k_float_range(a):
    for i in range(1.5):
        a[0] = i


def k_print_array(a):
    print(a)


def k_store_tuple(a):
    a[0] = (1, 2)


def k_unify(a, n):
    x = 1
    if n > 0:
        x = a
    a[0] = 1


@pytest.mark.parametrize("fn,needle", [
    (k_dim3_attr, "has no attribute 'w'"), (k_tuple_oob, "tuple index out of range"),
    (k_float_range, "range() arguments must be integers"), (k_print_array, "print() of array"),
    (k_store_tuple, "cannot store"), (k_unify, "cannot unify")])
def test_typing_errors(fn, needle):
    args = (A, 1) if fn is k_unify else (A,)
    assert needle in _compile_error(fn, *args)


def test_launch_errors_are_type_errors():
    k = cuda.jit(k_partial_index)
    with pytest.raises(TypeError, match=r"takes 1 arguments \(a\), 2 given"):
        k[1, 1](A, A)
    with pytest.raises(TypeError, match="configuration"):
        k(A)
    with pytest.raises(TypeError, match="cannot be passed"):
        k[1, 1]("text")
