"""Print the sorted set of floating-point PTX opcodes NVVM emits for a fastmath probe kernel (numba-cuda's
compile_ptx through libNVVM, fastmath=True), as JSON.  Run by tests/test_python_fastmath.py."""
import json
import math
import re

from numba import cuda, float32, float64


def probe(a, b, o, d):
    i = cuda.grid(1)
    o[0] = a[i] / b[i]
    o[1] = math.sqrt(a[i])
    o[2] = math.exp(a[i])
    o[3] = math.log(a[i])
    o[4] = math.sin(a[i])
    o[5] = a[i] * b[i] + o[6]
    o[7] = float32(1.0) if a[i] < b[i] else float32(2.0)
    d[0] = a[i]
    o[8] = d[1]
    d[2] = d[3] / d[4]
    d[5] = math.sqrt(d[6])


ptx, _ = cuda.compile_ptx(probe, (float32[::1], float32[::1], float32[::1], float64[::1]), fastmath=True, cc=(9, 0))
ops = sorted({m for m in re.findall(r"^\s*([a-z0-9]+(?:\.[a-z0-9]+)*)\s", ptx, re.M)
              if re.search(r"\.f(32|64)$", m) and not m.startswith(("ld.", "st.", "mov."))})
print(json.dumps(ops))
