"""Print {kernel: number of fma instructions} for tests/nvvm/probes.py compiled by
`--nvvm` (numba-cuda's compile_ptx through libNVVM) or `--vgpu` (vgpu.cuda's inspect_asm)."""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
if sys.argv[1] == "--vgpu":
    import vgpu.cuda
    vgpu.cuda.install_as_numba()
from numba import cuda, float64  # noqa: E402

import probes  # noqa: E402

SIG = (float64[:], float64[:])
out = {}
for name in probes.KERNELS:
    k = getattr(probes, name)
    if sys.argv[1] == "--vgpu":
        text = k.inspect_asm("void(float64[:], float64[:])")
    else:
        text, _ = cuda.compile_ptx(k.py_func, SIG, cc=(9, 0))
    out[name] = len(re.findall(r"^\s*fma\.rn\.f64", text, re.M))
print(json.dumps(out))
