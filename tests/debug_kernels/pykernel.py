"""A Python kernel for the debugger tests: a loop whose trip count depends on the thread."""
from vgpu import cuda


@cuda.jit
def tri(out):
    i = cuda.threadIdx.x
    s = 0
    for k in range(i % 5):
        s += k
    out[i] = s
