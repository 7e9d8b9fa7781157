"""The launch a debug session repeats: its kernel, arguments, geometry and device.

In:  a vgpu `Kernel` or a `vgpu.cuda` dispatcher, its arguments (numpy arrays are copied to the
     device once; DeviceArrays are used in place), grid, block, dynamic shared bytes, device, checks.
Out: `launch(observer)` runs it once (in the calling thread) with the arguments' device data
     restored to what it was when the session began, so every run starts from the same state;
     `finish` copies array results back into numpy arguments; `arrays()` reads them.
"""
from __future__ import annotations

import numpy as np

from ..runtime.array import DeviceArray, to_device
from ..runtime.device import resolve
from ..runtime.module import Kernel
from ..sim.launch import dims
from .memory import DebugError


class Launcher:
    def __init__(self, kernel, args, grid, block, shared, device, check):
        if device is None:
            device = next((a.device for a in args if isinstance(a, DeviceArray)), None)
        self.device = resolve(device)
        self.sim = self.device.sim
        self.grid, self.block, self.shared, self.check = dims(grid, "grid"), dims(block, "block"), int(shared), check
        self.host: list = []                       # (numpy argument, its DeviceArray)
        self.args = []
        for a in args:
            if isinstance(a, np.ndarray):
                d = to_device(a, device=self.device)
                self.host.append((a, d))
                a = d
            self.args.append(a)
        self.snapshots = [(a, a.copy_to_host()) for a in self.args if isinstance(a, DeviceArray)]
        if isinstance(kernel, Kernel):
            self.kernel, self.dispatcher = kernel, None
        elif hasattr(kernel, "_types_for") and hasattr(kernel, "_compile"):
            self.dispatcher = kernel
            self.kernel = kernel._compile(kernel._types_for(self.args))[2]
        else:
            raise DebugError(f"Session takes a vgpu Kernel or a vgpu.cuda.jit kernel, not {type(kernel).__name__}")
        self.program, self.code = self.kernel.module.program, self.kernel.code
        self.names = self._names()
        self._clock = (self.sim.clock, self.sim.launches)
        loaded = self.device.load(self.program)              # module symbols, restored on every run too
        self.symbols = [(a, self.sim.read(a, loaded.sizes[n])) for n, a in loaded.addresses.items()]

    def _names(self) -> dict:
        """Parameter name -> argument (pointer parameters of Python kernels: the array itself)."""
        if self.dispatcher is None:
            return dict(zip(self.kernel.param_names, self.args))
        import inspect
        try:
            names = list(inspect.signature(self.dispatcher.py_func).parameters)[self.dispatcher.dim3_params:]
        except (TypeError, ValueError):
            names = [f"arg{i}" for i in range(len(self.args))]
        return dict(zip(names, self.args))

    def reset(self) -> None:
        """Device data and the device's clock as they were when the session began."""
        for d, data in self.snapshots:
            d.copy_from_host(data)
        for addr, data in self.symbols:
            self.sim.write(addr, data)
        self.sim.clock, self.sim.launches = self._clock

    def launch(self, observer):
        kw = dict(device=self.device, check=self.check, trace=observer)
        if self.dispatcher is not None:
            return self.dispatcher.launch(self.args, self.grid, self.block, self.shared, **kw)
        return self.kernel(*self.args, grid=self.grid, block=self.block, shared=self.shared, **kw)

    def finish(self) -> None:
        for host, d in self.host:
            if host.flags.writeable:
                host[...] = d.copy_to_host()

    def arrays(self) -> dict:
        return {n: a.copy_to_host() for n, a in self.names.items() if isinstance(a, DeviceArray)}
