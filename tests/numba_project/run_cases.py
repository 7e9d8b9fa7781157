"""Run kernels.cases() and save the results: `python run_cases.py OUT.npz` (with NUMBA_ENABLE_CUDASIM=1
for Numba's simulator, or VGPU_NUMBA=1 for vgpu)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
if os.environ.get("VGPU_NUMBA") == "1":
    import vgpu  # noqa: F401 - VGPU_NUMBA=1 installs vgpu.cuda as numba.cuda
import numpy as np  # noqa: E402

import kernels  # noqa: E402

results = kernels.run_all()
np.savez(sys.argv[1], **{f"{name}__{k}": a for name, arrs in results.items() for k, a in enumerate(arrs)})
