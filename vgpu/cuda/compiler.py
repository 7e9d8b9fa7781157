"""`@cuda.jit`: the dispatcher that compiles a Python kernel once per argument-type set and launches it.

In:  a Python function (and optionally signatures), launch configurations and arguments.
Out: launches through vgpu's `Module`/`Kernel` runtime (so counters, sanitizers and traces work as for
     .vk); NumPy array arguments are copied to the device before and back after the launch, as Numba does.
"""
from __future__ import annotations

import numpy as np

from ..frontend.python import PySource, contract, fastmath, kernel_ir
from ..frontend.python import ntypes as N
from ..frontend.python.lower import DYN_SHARED_PARAM
from ..frontend.python.raises import EXC_SYMBOL, host_exception
from ..runtime.array import DeviceArray
from .arrays import _c_strides
from ..runtime.module import Module


def compile_program(pyfunc, argtypes: list, src: PySource | None = None, max_registers: int | None = None,
                    dim3_params: int = 0, fast: bool = False, debug: bool = False):
    """Python kernel + Numba argument types -> isa.Program (IR optimised, NVVM's contraction, selected).
    fast: cuda.jit(fastmath=True) (vgpu/frontend/python/fastmath.py); debug: cuda.jit(debug=True), raised
    exceptions are recorded for the host (program.py_exceptions, vgpu/frontend/python/raises.py)."""
    from .. import ir, pipeline
    src = src or PySource(pyfunc)
    filename = src.filename
    with pipeline._no_gc():
        module, _ = pipeline._guard("the Python front end", filename, kernel_ir, pyfunc, argtypes, src,
                                       dim3_params, fast, debug)
        exceptions = module.py_exceptions
        pipeline._guard("the IR verifier", filename, ir.verify, module)
        module = pipeline._guard("the IR optimiser", filename, ir.optimize, module)
        for fn in module.kernels:
            pipeline._guard("fma contraction", filename, contract, fn)
            if fast:
                pipeline._guard("fastmath", filename, fastmath.apply, fn)
        pipeline._guard("the IR verifier", filename, ir.verify, module)
        program = pipeline.to_program(module, filename, max_registers)    # optimised above: not again
    program.py_exceptions = exceptions
    program.source = src.file_text
    program.filename = filename
    return program


def _sig_key(types: list) -> str:
    return "(" + ", ".join(str(t) for t in types) + ")"


class Dispatcher:
    """What `@cuda.jit` returns.  `kernel[grid, block](*args)` / `kernel[grid, block, stream, sharedmem]`."""
    _vgpu_dispatcher = True

    dim3_params = 0         # the seed's kernels (vgpu.kernel) take threadIdx, blockIdx, blockDim, gridDim first

    def __init__(self, pyfunc, sigs=None, device: bool = False, max_registers: int | None = None,
                 fastmath: bool = False, debug: bool = False):
        self.py_func = pyfunc
        self.__name__ = getattr(pyfunc, "__name__", "kernel")
        self.__doc__ = getattr(pyfunc, "__doc__", None)
        self.device = device
        self._vgpu_kernel = not device
        self.max_registers = max_registers
        self.fastmath = bool(fastmath)
        self.debug = bool(debug)
        self._src: PySource | None = None
        self._cache: dict[tuple, tuple] = {}
        self.last_result = None
        self.signatures: list[list] = []
        for sig in sigs or []:
            types = N.parse_signature(sig) if isinstance(sig, str) else [
                N.parse_type(str(t)) for t in sig]
            self.signatures.append(types)
            if not device:
                self._compile(types)

    def _source(self) -> PySource:
        if self._src is None:
            self._src = PySource(self.py_func)
        return self._src

    def _compile(self, types: list):
        key = tuple(types)
        hit = self._cache.get(key)
        if hit is None:
            program = compile_program(self.py_func, list(types), self._source(), self.max_registers,
                                      self.dim3_params, self.fastmath, self.debug)
            mod = Module(program)
            hit = (program, mod, mod.get_function(self.__name__))
            self._cache[key] = hit
        return hit

    def compile(self, sig):
        types = N.parse_signature(sig) if isinstance(sig, str) else list(sig)
        return self._compile(types)[0]

    def __call__(self, *args, **kw):
        if self.device:
            raise TypeError(f"device function {self.__name__!r} can only be called from a kernel")
        raise TypeError(f"kernel {self.__name__!r} must be launched with a configuration: "
                        f"{self.__name__}[blocks, threads](...)")

    def __getitem__(self, config):
        if self.device:
            raise TypeError(f"device function {self.__name__!r} cannot be launched")
        if not isinstance(config, tuple) or not 2 <= len(config) <= 4:
            raise TypeError("launch configuration: kernel[grid, block] or kernel[grid, block, stream, sharedmem]")
        grid, block = config[0], config[1]
        shared = config[3] if len(config) == 4 else 0
        return _Launch(self, grid, block, int(shared))

    def forall(self, n: int, stream=0):
        return _Launch(self, (int(n) + 127) // 128, 128, 0)

    def _types_for(self, args) -> list:
        import inspect
        try:
            params = list(inspect.signature(self.py_func).parameters)[self.dim3_params:]
        except (TypeError, ValueError):
            params = None
        if params is not None and len(params) != len(args):
            raise TypeError(f"{self.__name__}() takes {len(params)} arguments ({', '.join(params)}), "
                            f"{len(args)} given")
        types = [N.typeof(a, f"{self.__name__}() argument {k + 1}") for k, a in enumerate(args)]
        if not self.signatures:
            return types
        for sig in self.signatures:
            if len(sig) == len(types) and all(
                    (isinstance(s, N.Array) and s.accepts(t)) or (isinstance(s, N.Number) and isinstance(t, N.Number))
                    for s, t in zip(sig, types)):
                return sig
        have = ", ".join(_sig_key(s) for s in self.signatures)
        raise TypeError(f"{self.__name__}{_sig_key(types)}: no matching signature (compiled: {have})")

    def launch(self, args, grid, block, shared: int = 0, device=None, **kw):
        """Launch and wait; returns (and keeps in `last_result`) the launch's result: counters,
        `line_counts` by .py line, printf output, sanitizer `.reports`.  kw: `check=` sanitizers,
        `trace=` a vgpu.sim.trace.Tracer (see docs/sanitizers.md, docs/tracing.md)."""
        from ..runtime.device import resolve
        dev = resolve(device)
        types = self._types_for(args)
        program, mod, kernel = self._compile(types)
        exc = None
        if program.py_exceptions:            # debug=True: clear the error word (numba-cuda memsets it)
            exc = mod.get_global(EXC_SYMBOL, dev, np.int32)
            exc.copy_from_host(np.zeros(7, np.int32))
        values, copies = [], []
        for a, t in zip(args, types):
            if isinstance(t, N.Array):
                strides = None
                if isinstance(a, DeviceArray):
                    d = a
                elif hasattr(a, "_as_device_array"):      # the seed's DevicePointer
                    d = a._as_device_array()
                else:
                    try:
                        d, strides = _host_to_device(np.asarray(a), t, dev)
                    except ValueError:
                        for _, done, _ in copies:
                            done.free()
                        raise
                    copies.append((a, d, strides))
                values += [d, *[int(s) for s in (d.shape if strides is None else np.shape(a))]]
                if t.layout != "C":        # F and A parameters: the strides (a DeviceNDArray has its own)
                    values += strides if strides is not None else \
                        list(getattr(d, "strides", None) or _c_strides(d.shape, d.dtype.itemsize))
            else:
                if isinstance(a, (np.ndarray,)):
                    a = a.item()
                v = np.array(a).astype(t.dtype).item() if not isinstance(a, bool) else a
                values.append(int(v) if t == N.BOOL else v)
        if kernel.param_names and kernel.param_names[-1] == DYN_SHARED_PARAM:
            values.append(int(shared))
        raised = None
        try:
            self.last_result = kernel(*values, grid=grid, block=block, shared=shared, device=dev, **kw)
            if exc is not None:
                raised = host_exception(program.py_exceptions, exc.copy_to_host())
            for host, d, strides in copies if raised is None else ():      # Numba: no copy back after
                if isinstance(host, np.ndarray) and host.flags.writeable:  # an exception
                    raw = d.copy_to_host()
                    host[...] = raw if strides is None else \
                        np.ndarray(host.shape, host.dtype, buffer=raw.tobytes(), strides=strides)
        finally:
            for _, d, _ in copies:
                d.free()
        if raised is not None:
            raise raised
        return self.last_result

    def inspect_asm(self, signature=None):
        """vgpu's assembly: a dict {signature: text}, or the text for one signature."""
        from ..isa.disasm import disassemble
        if signature is not None:
            types = N.parse_signature(signature) if isinstance(signature, str) else list(signature)
            return disassemble(self._compile(types)[0])
        return {_sig_key(list(k)): disassemble(v[0]) for k, v in self._cache.items()}

    def inspect_types(self):
        return {_sig_key(list(k)): list(k) for k in self._cache}

    @property
    def overloads(self):
        return {_sig_key(list(k)): v[2] for k, v in self._cache.items()}

    def __repr__(self) -> str:
        return f"<vgpu.cuda {'device function' if self.device else 'kernel'} {self.__name__}>"


_NOT_CONTIGUOUS = ("Array contains non-contiguous buffer and cannot be transferred as a single memory region. "
                   "Please ensure contiguous buffer with numpy .ascontiguousarray()")


def _host_to_device(host: np.ndarray, t, dev):
    """A NumPy argument copied to the device as numba-cuda's auto_device copies it: a C-contiguous array
    as it is (strides None); an F-contiguous or broadcast one (its core, without the stride-0 dimensions,
    contiguous) as its memory bytes, with the host's strides (returned); any other is numba's ValueError."""
    from .arrays import to_device
    if t.layout == "C" and host.flags["C_CONTIGUOUS"]:
        return to_device(host, device=dev), None
    core = host[tuple(0 if st == 0 else slice(None) for st in host.strides)] if host.size else host
    if not (core.flags["C_CONTIGUOUS"] or core.flags["F_CONTIGUOUS"]):
        raise ValueError(_NOT_CONTIGUOUS)
    strides = [int(st) for st in host.strides] if host.size else list(_c_strides(host.shape, host.itemsize))
    return to_device(core.ravel(order="K"), device=dev), strides


class _Launch:
    def __init__(self, disp: Dispatcher, grid, block, shared: int):
        self.disp, self.grid, self.block, self.shared = disp, grid, block, shared

    def __call__(self, *args):
        return self.disp.launch(args, self.grid, self.block, self.shared)


def jit(func_or_sig=None, device: bool = False, **kw):
    """numba.cuda.jit: `@jit`, `@jit(device=True)`, `@jit("void(float32[:])")`, `@jit(["sig", ...])`."""
    ignored = {"debug", "lineinfo", "inline", "fastmath", "opt", "cache", "link", "forceinline", "argtypes",
               "restype", "boundscheck"}
    for k in kw:
        if k not in ignored and k != "max_registers":
            raise TypeError(f"cuda.jit() got an unexpected keyword argument {k!r}")
    maxreg, fast, debug = kw.get("max_registers"), bool(kw.get("fastmath")), bool(kw.get("debug"))
    if callable(func_or_sig) and not isinstance(func_or_sig, str):
        return Dispatcher(func_or_sig, None, device, maxreg, fast, debug)
    sigs = None
    if isinstance(func_or_sig, (str, tuple)):
        sigs = [func_or_sig]
    elif isinstance(func_or_sig, list):
        sigs = func_or_sig

    def wrap(fn):
        return Dispatcher(fn, sigs, device, maxreg, fast, debug)
    return wrap
