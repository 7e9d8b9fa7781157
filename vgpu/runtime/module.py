"""`Module` (a compiled program) and `Kernel` (one of its entry points, launchable).

In:  an `isa.Program` from `vgpu.compile` / `compile_file`.
Out: kernels launched on a device; each launch converts its arguments once (`vgpu.runtime.params`)
     into the kernel's `.param` bytes, which the simulator receives:

    k = mod.get_function("saxpy")
    k(2.0, x, y, n, grid=(g,), block=(256,))      # or k[g, 256](2.0, x, y, n)
"""
from __future__ import annotations

import numpy as np

from ..sim.launch import dims
from .array import DeviceArray
from .device import Device, resolve
from .params import Packer, c_params


class Module:
    """A compiled program: its kernels, `__constant__` and `__device__` symbols."""

    def __init__(self, program):
        self.program = program

    @property
    def kernel_names(self) -> list[str]:
        return list(self.program.kernels)

    def get_function(self, name: str) -> "Kernel":
        """The kernel `name`; an instance of a kernel template (`reduce<256, true>`, blanks optional) is
        compiled now if the file did not instantiate it (CompileError if its instantiation fails)."""
        if name not in self.program.kernels:
            made = self._instantiate(name)
            if made is None:
                have = ", ".join(self.program.kernels) or "none"
                tpls = getattr(self.program, "templates", None)
                more = f"; kernel templates: {', '.join(tpls)}, named with their arguments as " \
                       f"{tpls[0]}<...>" if tpls else ""
                raise KeyError(f"no kernel named {name!r} in {self.program.filename} (kernels: {have}{more})")
            name = made
        return Kernel(self, self.program.kernels[name])

    def _instantiate(self, name: str) -> str | None:
        """The kernel name of template instance `name`, recompiling the source with it (and every
        instance made before) if need be; None when this module cannot make instances or `name` is
        not a template instance.  Symbols already loaded on a device keep their bytes."""
        old = self.program
        build = getattr(old, "build", None)
        if build is None or name.split("<", 1)[0].strip() not in old.templates or "<" not in name:
            return None
        if old.instances.get(name) in old.kernels:
            return old.instances[name]
        from .. import pipeline
        new = pipeline.compile_source(old.source, old.filename, build["max_registers"],
                                      build["instantiate"] + (name,))
        _carry_symbols(old, new)
        self.program = new
        return new.instances.get(name)

    def _symbol(self, name: str, spaces: tuple[str, ...]):
        sym = self.program.symbols.get(name)
        if sym is None or sym.space not in spaces:
            have = ", ".join(n for n, s in self.program.symbols.items() if s.space in spaces) or "none"
            kinds = " or ".join({"const": "__constant__", "global": "__device__"}[s] for s in spaces)
            raise KeyError(f"no {kinds} symbol named {name!r} (symbols: {have})")
        return sym

    def set_constant(self, name: str, value, device: Device | None = None, allow_reinterpret: bool = False) -> None:
        """Fill the `__constant__` symbol `name` with the bytes of `value` (at most its size), in the
        device's byte order."""
        sym = self._symbol(name, ("const",))
        dev = resolve(device)
        host = np.ascontiguousarray(value)
        if not host.dtype.isnative:
            host = host.astype(host.dtype.newbyteorder("="))
        if sym.elem is not None and not allow_reinterpret and host.dtype != sym.elem.dtype:
            raise TypeError(f"set_constant: {name!r} holds {sym.elem.dtype} elements, but the array holds "
                            f"{host.dtype} (allow_reinterpret=True or vgpuc --allow-reinterpret writes its bytes anyway)")
        data = host.tobytes()
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


def _carry_symbols(old, new) -> None:
    """Copy the `__constant__`/`__device__` bytes of `old` on every device that loaded it into `new`."""
    from .device import live_devices
    for dev in live_devices():
        if id(old) not in getattr(dev, "_loaded", {}):
            continue
        was, now = dev.load(old), dev.load(new)
        for sym_name, sym in old.symbols.items():
            if sym.space in ("const", "global") and sym_name in new.symbols and sym.size:
                dev.sim.write(now.symbol_address(sym_name), dev.sim.read(was.symbol_address(sym_name), sym.size))


class Kernel:
    """A launchable kernel.  `param_names` in declaration order."""

    def __init__(self, module: Module, code):
        self.module = module
        self.code = code
        self.name = code.name
        self.last_result = None
        self._pack = Packer(code.name, code.params)

    @property
    def param_names(self) -> list[str]:
        return [name for name, _ in c_params(self.code.params)]

    def __call__(self, *args, grid=1, block=1, shared: int = 0, device: Device | None = None, check=None,
                 trace=None, allow_reinterpret: bool = False, progress=None):
        """Launch and wait; returns the launch's result (counters, printf lines, sanitizer `.reports`).
        grid/block: an int or a 1..3-tuple; check: sanitizers for this launch (default: the device's);
        trace: a `vgpu.runtime.tools.Tracer`; allow_reinterpret: wrap out-of-range integers and accept
        any array for any pointer (vgpu.runtime.params); progress: called with (blocks done, blocks in
        all) as the launch runs."""
        dev = resolve(device)
        params = self._pack(args, dev, allow_reinterpret)
        self.last_result = dev.launch(dev.load(self.module.program), self.name, params, grid=dims(grid, "grid"),
                                      block=dims(block, "block"), shared=int(shared), check=check, trace=trace,
                                      progress=progress)
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
