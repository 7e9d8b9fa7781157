"""vgpu: a virtual GPU in Python.

Compile `.vk` kernels (a CUDA C subset) and run them on a simulated GPU:

    import numpy as np, vgpu
    mod = vgpu.compile(open("saxpy.vk").read(), filename="saxpy.vk")
    x = vgpu.to_device(np.ones(1000, np.float32)); y = vgpu.zeros(1000, np.float32)
    mod.get_function("saxpy")(2.0, x, y, 1000, grid=4, block=256)
    print(y.copy_to_host())

These names are a fixed contract: compile, compile_file, Module, Kernel, Device, DeviceArray,
to_device, empty, zeros, CompileError, DeviceError.
"""
from __future__ import annotations

from pathlib import Path

from .diagnostics import CompileError
from .runtime.array import DeviceArray, empty, to_device, zeros
from .runtime.device import Device, DeviceLost, current_device, default_device, device_count, live_devices
from .runtime.array import copy_peer
from .multigpu import devices
from .runtime.links import Link, Topology, set_topology
from . import nccl, distribute
from .runtime.module import Kernel, Module
from .runtime.seed import DevicePointer, VirtualGPU, kernel, launch_kernel
from .runtime.texture import destroy_texture, surface, texture
from .sim.faults import DeviceError

__all__ = ["compile", "compile_file", "Module", "Kernel", "Device", "DeviceArray", "to_device", "empty",
           "zeros", "default_device", "CompileError", "DeviceError",
           "devices", "device_count", "current_device", "live_devices", "copy_peer", "Link", "Topology",
           "set_topology", "nccl", "distribute", "DeviceLost", "texture", "surface", "destroy_texture"]
__version__ = "0.1.0"


def compile(source: str, filename: str = "<string>", max_registers: int | None = None) -> Module:
    """Compile `.vk` source text (or `.vasm` text when filename ends in .vasm) into a Module."""
    from . import pipeline
    if filename.endswith(".vasm"):
        return Module(pipeline.assemble(source, filename))
    return Module(pipeline.compile_source(source, filename, max_registers=max_registers))


def compile_file(path: str | Path, max_registers: int | None = None) -> Module:
    """Compile a `.vk` or `.vasm` file; `#include "..."` resolves next to it."""
    from . import pipeline
    return Module(pipeline.compile_path(path, max_registers=max_registers))


def _numba_from_env() -> None:
    """VGPU_NUMBA=1: `from numba import cuda` gives vgpu.cuda (docs/python.md)."""
    import os
    if os.environ.get("VGPU_NUMBA") == "1":
        from .cuda import install_as_numba
        install_as_numba()


_numba_from_env()
