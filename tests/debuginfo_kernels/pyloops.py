"""A Python kernel whose variables tests/test_debuginfo.py checks against a model at breakpoints."""
from vgpu import cuda


@cuda.jit(device=True)
def mix(a, b):
    m = a * 3 + b
    if m > 20:
        m -= 7
    return m


@cuda.jit
def k3(out, n):
    i = cuda.threadIdx.x
    acc = i
    x = 1
    for j in range(n):
        t = acc + j
        if t % 2 == 0:
            x = x * 2
        else:
            x = x + i
        out[i] += t                              # BP join
        acc = mix(t, x)
        out[i] += acc                            # BP after
    out[i] += acc + x                            # BP end
