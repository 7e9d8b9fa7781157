"""`from vgpu import cuda`: a drop-in for `numba.cuda` whose kernels run on vgpu's virtual GPU.

    from vgpu import cuda
    @cuda.jit
    def axpy(a, x, y, n):
        i = cuda.grid(1)
        if i < n:
            y[i] = a * x[i] + y[i]
    axpy[blocks, threads](2.0, d_x, d_y, n)

Kernels are compiled by vgpu's Python front end (`vgpu.frontend.python`) with Numba's typing and NVVM's
fma contraction, then run by the simulator.  The kernel-side names below (threadIdx, syncthreads,
atomic.add, ...) are markers the compiler recognises; calling them from host code is an error.
`install_as_numba()` (or VGPU_NUMBA=1 before `import vgpu`) makes `from numba import cuda` give
this module.  docs/python.md lists every supported name.
"""
from __future__ import annotations

import sys
import types as _types

import numpy as np

from .arrays import (DeviceNDArray, Stream, default_stream, device_array, device_array_like, pinned_array,
                     stream, to_device)
from .compiler import Dispatcher, compile_program, jit

__all__ = ["jit", "to_device", "device_array", "device_array_like", "synchronize", "is_available", "detect",
           "install_as_numba", "DeviceNDArray", "Dispatcher", "Stream", "stream", "default_stream", "pinned_array",
           "compile_program"]


def _marker(path: str, doc: str = ""):
    def stub(*args, **kw):
        raise RuntimeError(f"cuda.{path} can only be used inside a @cuda.jit kernel")
    stub.__name__ = path.rsplit(".", 1)[-1]
    stub.__qualname__ = path
    stub.__doc__ = doc
    stub._vgpu_path = "cuda." + path
    return stub


class _Namespace:
    def __init__(self, path: str, names: list[str]):
        self._vgpu_path = "cuda." + path
        for n in names:
            setattr(self, n, _marker(f"{path}.{n}"))


class _Dim3Marker:
    def __init__(self, name: str):
        self._vgpu_path = "cuda." + name

    def __getattr__(self, attr):
        raise RuntimeError(f"cuda.{self._vgpu_path[5:]}.{attr} can only be used inside a @cuda.jit kernel")


threadIdx, blockIdx, blockDim, gridDim = (_Dim3Marker(n) for n in ("threadIdx", "blockIdx", "blockDim", "gridDim"))
laneid = _marker("laneid")
warpsize = 32
for _n in ("grid", "gridsize", "syncthreads", "syncthreads_count", "syncthreads_and", "syncthreads_or",
           "syncwarp", "threadfence", "threadfence_block", "threadfence_system", "shfl_sync", "shfl_up_sync",
           "shfl_down_sync", "shfl_xor_sync", "ballot_sync", "all_sync", "any_sync", "eq_sync", "activemask",
           "lanemask_lt", "popc", "clz", "ffs", "brev", "fma", "selp", "match_any_sync", "match_all_sync"):
    globals()[_n] = _marker(_n)
atomic = _Namespace("atomic", ["add", "sub", "and_", "or_", "xor", "exch", "inc", "dec", "max", "min", "nanmax",
                               "nanmin", "cas", "compare_and_swap"])
shared = _Namespace("shared", ["array"])
local = _Namespace("local", ["array"])
const = _Namespace("const", ["array_like"])
cg = _Namespace("cg", ["this_grid"])
FP16_NAMES = ["hadd", "hsub", "hmul", "hdiv", "hfma", "hneg", "habs", "heq", "hne", "hgt", "hge", "hlt", "hle",
              "hmax", "hmin", "hsqrt", "hfloor", "hceil", "htrunc"]
fp16 = _Namespace("fp16", FP16_NAMES)        # numba-cuda's cuda.fp16 (float16 arithmetic as __h* of cuda_fp16.h)

# the scalar types, as numba exports them (cuda.float32 ... work in kernels and in signatures)
for _n in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32",
           "float64"):
    globals()[_n] = getattr(np, _n)


def synchronize() -> None:
    """Wait for the device: vgpu's launches and copies have completed when they return."""


def is_available() -> bool:
    return True


def detect() -> bool:
    from ..runtime.device import default_device
    dev = default_device()
    print("Found 1 CUDA devices")
    print(f"id 0    b'vgpu virtual GPU ({dev.num_sms} SMs)'                              [SUPPORTED]")
    print("Summary:\n\t1/1 devices are supported")
    return True


class _DeviceInfo:
    name = b"vgpu virtual GPU"
    compute_capability = (9, 0)
    id = 0
    WARP_SIZE = 32
    MAX_THREADS_PER_BLOCK = 1024
    MAX_SHARED_MEMORY_PER_BLOCK = 48 * 1024

    def reset(self) -> None:
        pass


def get_current_device() -> _DeviceInfo:
    return _DeviceInfo()


def select_device(n: int = 0) -> _DeviceInfo:
    if n != 0:
        raise ValueError("vgpu.cuda has one device (0)")
    return _DeviceInfo()


def close() -> None:
    pass


def current_context():
    return _DeviceInfo()


def list_devices():
    return [_DeviceInfo()]


def install_as_numba() -> None:
    """Make `import numba.cuda` / `from numba import cuda` give this module (numba itself need not be
    installed: a minimal `numba` module with the scalar types is provided then)."""
    mod = sys.modules[__name__]
    numba = sys.modules.get("numba")
    if numba is None:
        try:
            import numba  # noqa: F401 - the real package when it is installed
            numba = sys.modules["numba"]
        except ImportError:
            numba = _types.ModuleType("numba")
            for n in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16",
                      "float32", "float64"):
                setattr(numba, n, getattr(np, n))
            numba.__path__ = []
            sys.modules["numba"] = numba
    numba.cuda = mod
    sys.modules["numba.cuda"] = mod


def uninstall_as_numba() -> None:
    """Undo `install_as_numba` (for tests)."""
    if sys.modules.get("numba.cuda") is sys.modules[__name__]:
        del sys.modules["numba.cuda"]
        numba = sys.modules.get("numba")
        if numba is not None and getattr(numba, "cuda", None) is sys.modules[__name__]:
            try:
                del numba.cuda
            except AttributeError:
                pass
