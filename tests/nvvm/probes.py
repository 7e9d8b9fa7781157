"""Kernels whose floating-point contraction tests/test_python_nvvm.py compares with NVVM's PTX
(written for Numba: `from numba import cuda`)."""
import math

from numba import cuda


@cuda.jit
def non_add_use(a, o):
    t = a[0] * a[1]
    o[0] = t + a[2]
    o[1] = t * a[3]


@cuda.jit
def two_adds(a, o):
    t = a[0] * a[1]
    o[0] = t + a[2]
    o[1] = t + a[3]


@cuda.jit
def sunk(a, o):
    t = a[0] * a[1]
    if a[4] > 0:
        o[0] = t + a[2]


@cuda.jit
def subs(a, o):
    o[0] = a[0] * a[1] - a[2]
    o[1] = a[2] - a[0] * a[1]


@cuda.jit
def five_uses(a, o):
    t = a[0] * a[1]
    o[0] = t + a[2]
    o[1] = t + a[3]
    o[2] = t + a[4]
    o[3] = t + a[5]
    o[4] = t + a[6]


@cuda.jit
def four_uses(a, o):
    t = a[0] * a[1]
    o[0] = t + a[2]
    o[1] = t + a[3]
    o[2] = t + a[4]
    o[3] = t + a[5]


@cuda.jit
def two_products(a, o):
    o[0] = a[0] * a[1] + a[2] * a[3]


@cuda.jit
def accumulate(a, o):
    s = 0.0
    for i in range(4):
        s += a[i] * a[i + 4]
    o[0] = s


@cuda.jit
def negated(a, o):
    o[0] = -(a[0] * a[1]) + a[2]


@cuda.jit
def stencil(x, o):
    i = cuda.grid(1)
    if 0 < i < x.shape[0] - 1:
        o[i] = 0.25 * x[i - 1] + 0.5 * x[i] + 0.25 * x[i + 1]


@cuda.jit
def horner(x, o):
    i = cuda.grid(1)
    v = x[i]
    o[i] = ((0.5 * v + 1.5) * v - 2.0) * v + 3.0


@cuda.jit
def used_in_two_blocks(a, o):
    t = a[0] * a[1]
    if a[4] > 0:
        o[0] = t + a[2]
    else:
        o[1] = t + a[3]


@cuda.jit
def rational(a, o):
    i = cuda.grid(1)
    z = a[i] * 2.0 + 1.0
    o[i] = 1.0 / (1.0 + z) + z * z


@cuda.jit
def sub_const(a, o):
    o[0] = a[0] * a[1] - 2.0
    o[1] = 1.0 - a[0] * a[2]
    o[2] = 2.0 + a[1] * a[2]
    o[3] = a[3] * 3.0 - a[4] * 5.0


@cuda.jit
def float32_math(a, o):
    i = cuda.grid(1)
    x = a[i]
    o[i] = math.sqrt(x * x + 1.0) - x * 0.5


KERNELS = ["non_add_use", "two_adds", "sunk", "subs", "five_uses", "four_uses", "two_products", "accumulate",
           "negated", "stencil", "horner", "used_in_two_blocks", "rational", "sub_const", "float32_math"]
