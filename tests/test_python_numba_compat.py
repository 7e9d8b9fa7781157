"""An unmodified Numba project (tests/numba_project) on vgpu: install_as_numba / VGPU_NUMBA=1, its own
tests, and the bytes of its results against Numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1)."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vgpu.cuda.testing import vgpu_numba  # noqa: F401 - the fixture

PROJECT = Path(__file__).parent / "numba_project"


def _run(args, env_extra, timeout=300):
    env = dict(os.environ, **env_extra)
    env.pop("NUMBA_ENABLE_CUDASIM", None) if "NUMBA_ENABLE_CUDASIM" not in env_extra else None
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=timeout)


def test_fixture_makes_numba_cuda_vgpu(vgpu_numba):
    from numba import cuda
    import vgpu.cuda
    assert cuda is vgpu.cuda is vgpu_numba

    @cuda.jit
    def k(a):
        a[cuda.grid(1)] += 1
    a = np.zeros(8, np.int32)
    k[1, 8](a)
    assert a.tolist() == [1] * 8


def test_project_tests_pass_unmodified_with_vgpu_numba():
    r = _run(["-m", "pytest", "-q", "-o", "addopts=", "-p", "no:cacheprovider", "-p", "vgpu.cuda.testing",
              str(PROJECT / "check_kernels.py"), "--rootdir", str(PROJECT)],
             {"VGPU_NUMBA": "1", "PYTHONPATH": str(PROJECT)})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2 passed" in r.stdout


# kernels whose results Numba's simulator computes as a GPU does; the others differ on purpose:
#   matmul        the GPU (and vgpu) fuse tmp += a*b into fma; the simulator rounds twice
#   scale_sigmoid math.exp is CUDA's libdevice exp on the GPU/vgpu, the host libm in the simulator
EXACT = {"vector_add", "block_sum", "histogram", "integer_ops", "stencil", "prefix_in_block"}


def test_results_match_numba_simulator(tmp_path):
    pytest.importorskip("numba.cuda")
    sim, vg = tmp_path / "sim.npz", tmp_path / "vgpu.npz"
    r = _run([str(PROJECT / "run_cases.py"), str(sim)], {"NUMBA_ENABLE_CUDASIM": "1"})
    assert r.returncode == 0, r.stderr
    r = _run([str(PROJECT / "run_cases.py"), str(vg)], {"VGPU_NUMBA": "1"})
    assert r.returncode == 0, r.stderr
    a, b = np.load(sim), np.load(vg)
    assert sorted(a.files) == sorted(b.files) and len(a.files) == 18
    for key in a.files:
        name = key.split("__")[0]
        if name in EXACT:
            assert a[key].tobytes() == b[key].tobytes(), key
        else:
            np.testing.assert_allclose(a[key], b[key], rtol=1e-6, err_msg=key)
