"""The Python front end: a numba-cuda kernel (a Python function) in, SSA IR out.

    module, src = kernel_ir(pyfunc, [Array(FLOAT32, 1), INT64])   # ir.Module, PySource

The function is parsed with `ast`, typed with Numba's rules (`ntypes`) and lowered to the same IR as
.vk (`lower`, with `calls`/`memory`/`warp` for the kernel API and `arith` for Python's operators);
device functions are inlined.  `contract` is NVVM's fma contraction, run by the caller after the IR
optimiser.  Errors are `CompileError`s at the kernel's .py file and line, with a caret.
"""
from __future__ import annotations

from ...diagnostics import CompileError, Diagnostic, Span
from ...ir import nodes as ir
from ...ir.builder import Builder
from . import fastmath
from .contract import contract
from .lower import Ctx, FnLower
from .source import PySource

__all__ = ["kernel_ir", "contract", "fastmath", "PySource"]


def kernel_ir(pyfunc, argtypes: list, src: PySource | None = None, dim3_params: int = 0,
              fastmath: bool = False, debug: bool = False):
    """Lower the kernel `pyfunc` for the Numba argument types `argtypes` -> (ir.Module, PySource).
    fastmath: lower float32 math functions to their fast versions (fastmath.apply does the rest)."""
    src = src or PySource(pyfunc)
    module = ir.Module(filename=src.filename)
    ctx = Ctx(module)
    ctx.fastmath, ctx.debug = fastmath, debug
    fn = ir.Function(src.name, "kernel", [], None, span=src.span(src.tree))
    b = Builder(fn)
    ctx.fn = fn
    fl = FnLower(ctx, src, b)
    ctx.inlining.append(pyfunc)
    try:
        fl.lower_kernel(fn, argtypes, dim3_params)
    except RecursionError:
        raise CompileError(Diagnostic(Span(src.filename, src.line0 + 1, 1), "kernel is nested too deeply")) \
            from None
    b.finish()
    module.functions[fn.name] = fn
    module.py_exceptions = ctx.exceptions          # what a debug launch's error code means
    return module, src
