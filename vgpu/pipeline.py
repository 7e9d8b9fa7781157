"""The pipeline driver (vgpu.compile is the public function, so this module is `pipeline`): text in,
`isa.Program` out, with every intermediate form on request.

    .vk   -> preprocess, parse, check, lower (frontend) -> optimise (ir) -> select, allocate (isa) -> Program
    .vasm -> assemble (isa) -> Program

Every stage raises `CompileError`.  An unexpected exception inside a stage is a bug in vgpu; it is
reported as `InternalCompilerError` (a CompileError, so users never see a traceback) naming the stage.
"""
from __future__ import annotations

import gc
from contextlib import contextmanager
from pathlib import Path

from .diagnostics import CompileError, Diagnostic, Span


class InternalCompilerError(CompileError):
    """A bug in vgpu, not in the user's kernel."""


def _guard(stage: str, filename: str, fn, *args, **kw):
    try:
        return fn(*args, **kw)
    except CompileError:
        raise
    except RecursionError:
        raise CompileError(Diagnostic(Span(filename, 0, 0), "program is nested too deeply")) from None
    except Exception as e:  # noqa: BLE001 - turned into a diagnostic on purpose
        msg = f"internal compiler error in {stage}: {type(e).__name__}: {e}"
        raise InternalCompilerError(Diagnostic(Span(filename, 0, 0), msg)) from e


def to_ir(text: str, filename: str = "<string>", optimize: bool = True):
    """`.vk` text -> `ir.Module` (optimised unless `optimize=False`), verified."""
    from . import frontend, ir
    module = _guard("the front end", filename, frontend.to_ir, text, filename)
    _guard("the IR verifier", filename, ir.verify, module)
    if optimize:
        module = _guard("the IR optimiser", filename, ir.optimize, module)
        _guard("the IR verifier", filename, ir.verify, module)
    return module


@contextmanager
def _no_gc():
    """Pause the cyclic garbage collector: compiling allocates many small objects and keeps them,
    so collections during a compile find nothing and cost 15% of the time."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def compile_source(text: str, filename: str = "<string>", max_registers: int | None = None):
    """`.vk` text -> `isa.Program` (source kept for listings and fault messages)."""
    from . import isa
    with _no_gc():
        module = to_ir(text, filename)
        program = _guard("instruction selection", filename, isa.select_program, module,
                         max_registers=max_registers)
    program.source = text
    program.filename = filename
    return program


def assemble(text: str, filename: str = "<string>"):
    """`.vasm` text -> `isa.Program`."""
    from . import isa
    return _guard("the assembler", filename, isa.assemble, text, filename)


def read_source(path: str | Path) -> str:
    """The text of a source file; CompileError for a missing file or bytes that are not UTF-8."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise CompileError(Diagnostic(Span(str(path), 0, 0), f"cannot read file: {e.strerror}")) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        before = data[:e.start]
        line = before.count(b"\n") + 1
        col = e.start - (before.rfind(b"\n") + 1) + 1
        text = data.decode("utf-8", errors="replace").splitlines()
        raise CompileError(Diagnostic(Span(str(path), line, col),
                                      f"invalid UTF-8 byte 0x{data[e.start]:02x} in source file",
                                      source_line=text[line - 1] if line <= len(text) else None)) from None


def compile_path(path: str | Path, max_registers: int | None = None):
    """A `.vk` or `.vasm` file -> `isa.Program`."""
    text = read_source(path)
    if str(path).endswith(".vasm"):
        return assemble(text, str(path))
    return compile_source(text, str(path), max_registers=max_registers)
