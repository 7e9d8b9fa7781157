"""`Module` (a compiled program) and `Kernel` (one of its entry points, launchable).

In:  an `isa.Program` from `vgpu.compile` / `compile_file`.
Out: kernels launched on a device with arguments converted to their declared parameter types:

    k = mod.get_function("saxpy")
    k(2.0, x, y, n, grid=(g,), block=(256,))      # or k[g, 256](2.0, x, y, n)
"""
from __future__ import annotations

import numpy as np

from .array import DeviceArray
from .device import Device, resolve


def dims(value, what: str) -> tuple[int, int, int]:
    """An int or a 1..3-tuple -> (x, y, z); TypeError/ValueError for anything else."""
    if isinstance(value, (int, np.integer)):
        value = (int(value),)
    try:
        t = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be an int or a tuple of 1 to 3 ints, not {value!r}") from None
    if not 1 <= len(t) <= 3:
        raise ValueError(f"{what} must have 1 to 3 dimensions, not {len(t)}")
    if any(v < 1 for v in t):
        raise ValueError(f"{what} dimensions must be positive, got {t}")
    return t + (1,) * (3 - len(t))


def wrap_int(v: int, t) -> int:
    """`v` converted to the integer type `t` as C does: modulo 2^bits, then read with t's signedness."""
    v &= (1 << t.bits) - 1
    return v - (1 << t.bits) if t.is_signed and v >> (t.bits - 1) else v


class Module:
    """A compiled program: its kernels, `__constant__` and `__device__` symbols."""

    def __init__(self, program):
        self.program = program

    @property
    def kernel_names(self) -> list[str]:
        return list(self.program.kernels)

    def get_function(self, name: str) -> "Kernel":
        if name not in self.program.kernels:
            have = ", ".join(self.program.kernels) or "none"
            raise KeyError(f"no kernel named {name!r} in {self.program.filename} (kernels: {have})")
        return Kernel(self, self.program.kernels[name])

    def _symbol(self, name: str, spaces: tuple[str, ...]):
        sym = self.program.symbols.get(name)
        if sym is None or sym.space not in spaces:
            have = ", ".join(n for n, s in self.program.symbols.items() if s.space in spaces) or "none"
            kinds = " or ".join({"const": "__constant__", "global": "__device__"}[s] for s in spaces)
            raise KeyError(f"no {kinds} symbol named {name!r} (symbols: {have})")
        return sym

    def set_constant(self, name: str, value, device: Device | None = None) -> None:
        """Fill the `__constant__` symbol `name` with the bytes of `value` (at most its size)."""
        sym = self._symbol(name, ("const",))
        dev = resolve(device)
        data = np.ascontiguousarray(value).tobytes()
        if len(data) > sym.size:
            raise ValueError(f"set_constant: {len(data)} bytes given for {name!r}, which holds {sym.size}")
        loaded = dev.load(self.program)
        dev.sim.write(loaded.symbol_address(name), data)

    def get_global(self, name: str, device: Device | None = None, dtype=np.uint8) -> DeviceArray:
        """A DeviceArray view (bytes by default) of the `__device__` (or `__constant__`) symbol `name`."""
        sym = self._symbol(name, ("global", "const"))
        dev = resolve(device)
        loaded = dev.load(self.program)
        dtype = np.dtype(dtype)
        return DeviceArray(dev, loaded.symbol_address(name), (sym.size // dtype.itemsize,), dtype, owner=False)


class Kernel:
    """A launchable kernel.  `param_names` in declaration order."""

    def __init__(self, module: Module, code):
        self.module = module
        self.code = code
        self.name = code.name
        self.last_result = None

    @property
    def param_names(self) -> list[str]:
        return [p.name for p in self.code.params]

    def _convert(self, args) -> list[int | float]:
        params = self.code.params
        if len(args) != len(params):
            names = ", ".join(self.param_names)
            raise TypeError(f"{self.name}() takes {len(params)} arguments ({names}), {len(args)} given")
        out: list[int | float] = []
        for p, a in zip(params, args):
            if p.is_pointer:
                if isinstance(a, DeviceArray):
                    out.append(a.address)
                elif a is None or (isinstance(a, (int, np.integer)) and int(a) == 0):
                    out.append(0)
                else:
                    raise TypeError(f"{self.name}(): parameter {p.name!r} is a pointer and takes a DeviceArray, "
                                    f"not {type(a).__name__}")
                continue
            if isinstance(a, DeviceArray) or not isinstance(a, (int, float, bool, np.integer, np.floating, np.bool_)):
                raise TypeError(f"{self.name}(): parameter {p.name!r} is a {p.type.name} scalar, "
                                f"not {type(a).__name__}")
            if p.type.is_float:
                out.append(float(np.array(a).astype(p.type.dtype)))
            elif p.type.name == "pred":
                out.append(int(bool(a)))
            else:
                if isinstance(a, (float, np.floating)):
                    raise TypeError(f"{self.name}(): parameter {p.name!r} is an integer ({p.type.name}), "
                                    f"not {type(a).__name__}")
                out.append(wrap_int(int(a), p.type))
        return out

    def __call__(self, *args, grid=1, block=1, shared: int = 0, device: Device | None = None, check=None,
                 trace=None):
        """Launch and wait; returns the launch's result (counters, printf lines, sanitizer `.reports`).
        check: sanitizers for this launch (default: the device's); trace: a vgpu.sim.trace.Tracer."""
        dev = resolve(device)
        values = self._convert(args)
        loaded = dev.load(self.module.program)
        self.last_result = dev.sim.launch(loaded, self.name, values, grid=dims(grid, "grid"),
                                          block=dims(block, "block"), shared=int(shared), check=check,
                                          trace=trace)
        return self.last_result

    def __getitem__(self, config) -> "_Configured":
        if not isinstance(config, tuple) or not 2 <= len(config) <= 4:
            raise TypeError("use kernel[grid, block] or kernel[grid, block, shared] or kernel[grid, block, shared, device]")
        return _Configured(self, *config)

    def __repr__(self) -> str:
        return f"<vgpu.Kernel {self.name}({', '.join(self.param_names)})>"


class _Configured:
    def __init__(self, kernel: Kernel, grid, block, shared: int = 0, device: Device | None = None):
        self.kernel, self.grid, self.block, self.shared, self.device = kernel, grid, block, shared, device

    def __call__(self, *args):
        return self.kernel(*args, grid=self.grid, block=self.block, shared=self.shared, device=self.device)
