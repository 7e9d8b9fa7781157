"""The pipeline: every stage from text to a runnable `isa.Program`, in order, in this one file
(vgpu.compile is the public function, so this module is `pipeline`).

    .vk text   to_ir        front end: preprocess, parse, check, lower (vgpu.frontend) -> ir.Module
                            (IR verifier here too in debug runs: VGPU_VERIFY=1, or optimize=False)
               optimize_ir  IR optimiser (vgpu.ir.optimize), IR verifier (vgpu.ir.verify)
               to_program   instruction selection (isa.select)        -> KernelCodes on virtual registers
                            register allocation (isa.regalloc)       -> physical registers, spills
                            branch clean-up (isa.peephole)           -> threaded jumps, $L labels
                            reconvergence points (isa.reconv)        -> every guarded bra's rejoin pc
                            shared symbols, size limits (isa.usage), the source text of listed lines
    .vasm text assemble     (vgpu.isa.asm: the same Program, reconvergence placed the same way)

`compile_source` runs the .vk stages, `compile_ir` the stages from an IR module on (another front end,
such as the Python kernels of vgpu.cuda, hands its module there).  Every stage raises `CompileError`;
an unexpected exception inside a stage is a bug in vgpu, reported as `InternalCompilerError` (a
CompileError, so users never see a traceback) naming the stage.
"""
from __future__ import annotations

import gc
import os
from contextlib import contextmanager
from pathlib import Path

from .diagnostics import CompileError, Diagnostic, Reporter, Sources, Span


class InternalCompilerError(CompileError):
    """A bug in vgpu, not in the user's kernel."""


def verify_every_stage() -> bool:
    """Debug mode (environment VGPU_VERIFY=1): verify the IR after the front end as well as after the
    optimiser.  Otherwise it is verified once, after the optimiser (whose input is the front end's
    output, so a malformed module still stops there, as an internal compiler error)."""
    return os.environ.get("VGPU_VERIFY", "") not in ("", "0")


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


def to_ir(text: str, filename: str = "<string>", optimize: bool = True, reporter: Reporter | None = None,
          instantiate: tuple[str, ...] = ()):
    """`.vk` text -> `ir.Module` (optimised unless `optimize=False`), verified.  `reporter` (optional)
    receives the diagnostics and, in its `sources`, the text of every file read.  `instantiate`: kernel
    template instances to make (`reduce<256, true>`); `module.instances` maps each to its kernel name."""
    from . import frontend, ir
    module = _guard("the front end", filename, frontend.to_ir, text, filename, reporter, tuple(instantiate))
    instances, templates = module.instances, module.templates
    if not optimize or verify_every_stage():
        _guard("the IR verifier", filename, ir.verify, module)
    module = optimize_ir(module, filename) if optimize else module
    module.instances, module.templates = instances, templates
    return module


def optimize_ir(module, filename: str = "<string>"):
    """An `ir.Module` (verified by its maker, or in debug runs) -> the optimised module, verified."""
    from . import ir
    module = _guard("the IR optimiser", filename, ir.optimize, module)
    _guard("the IR verifier", filename, ir.verify, module)
    return module


def to_program(module, filename: str = "<string>", max_registers: int | None = None,
               sources: Sources | None = None):
    """An optimised `ir.Module` -> `isa.Program`: select, allocate registers (spilling to fit
    `max_registers`), clean up branches, place reconvergence points, check the kernels' shared and
    local memory against the device; listings get the text of lines in `sources` (headers too)."""
    from .isa import peephole, reconv, regalloc, select, usage
    from .isa.program import shared_symbols
    program = _guard("instruction selection", filename, select.select_kernels, module)
    from .sim.occupancy import bounded_registers
    for k in program.kernels.values():
        fn = module.functions.get(k.name)
        bounds = fn.attrs.get("launch_bounds") if fn is not None else None
        cap = max_registers
        if bounds and bounds[0]:                 # __launch_bounds__(maxThreads[, minBlocks]): nvcc caps registers
            k.max_threads = bounds[0]
            fit = bounded_registers(bounds[0], bounds[1] if len(bounds) > 1 and bounds[1] else 1)
            cap = fit if cap is None else min(cap, fit)
        _guard("register allocation", filename, regalloc.allocate, k, cap)
        _guard("branch clean-up", filename, peephole.clean_branches, k)
        _guard("reconvergence", filename, reconv.place_reconvergence, k)
        k.shared = shared_symbols(k, program)
        problems = usage.over_limits(k, program)
        if problems:
            fn = module.functions.get(k.name)
            span = (fn.span if fn is not None else None) or Span(filename, 0, 0)
            raise CompileError([Diagnostic(span, msg) for msg in problems])
    if sources is not None:
        _listing_text(program, sources)
    return program


def _listing_text(program, sources: Sources) -> None:
    """The text of every listed line of a file other than the main one (a header), for listings."""
    for k in program.kernels.values():
        for ins in k.instrs:
            if ins.line and ins.file and ins.file != program.filename and \
                    (ins.file, ins.line) not in program.line_text:
                text = sources.line(Span(ins.file, ins.line, 1))
                if text is not None:
                    program.line_text[(ins.file, ins.line)] = text.strip()


def compile_ir(module, filename: str, source: str | None = None, max_registers: int | None = None):
    """A verified `ir.Module` from any front end -> `isa.Program`: optimise, then `to_program`.
    `source` is the text of `filename`, kept for listings and fault messages."""
    with _no_gc():
        module = optimize_ir(module, filename)
        program = to_program(module, filename, max_registers)
    program.source = source
    program.filename = filename
    return program


@contextmanager
def _no_gc():
    """Pause the cyclic garbage collector: compiling allocates many small objects and keeps them,
    so collections during a compile find nothing and cost 15% of the time.  Afterwards the objects
    made (the program, mostly) join the oldest generation at once (`_age`) instead of waiting for
    a young-generation collection that would scan them all."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            _age()
            gc.enable()


_AGE_AT = 50_000               # fewer new objects: a young collection scans them soon, cheaply
_AGED_LIMIT = 1_000_000        # objects moved to the oldest generation between two full collections
_aged = 0


def _age() -> None:
    """Move the objects allocated while the collector was paused to the oldest generation (freeze,
    then unfreeze, scans nothing) when there are many; any cyclic garbage among them waits for a
    full collection, which runs here once a million objects have been moved so (memory stays
    bounded).  Left alone when the application froze objects itself."""
    global _aged
    young = gc.get_count()[0]
    if young < _AGE_AT or gc.get_freeze_count():
        return
    _aged += young
    if _aged > _AGED_LIMIT:
        _aged = 0
        gc.collect()
        return
    gc.freeze()
    gc.unfreeze()


def compile_source(text: str, filename: str = "<string>", max_registers: int | None = None,
                   instantiate: tuple[str, ...] = ()):
    """`.vk` text -> `isa.Program` (source kept for listings and fault messages).  `instantiate`: kernel
    template instances to make besides the file's own, by name (`reduce<256, true>`); the program
    records them (`program.instances`: name asked -> kernel name), its kernel templates' names
    (`program.templates`) and how it was built (`program.build`),
    so that `vgpu.Module` can make more on demand."""
    reporter = Reporter()
    with _no_gc():
        module = to_ir(text, filename, reporter=reporter, instantiate=tuple(instantiate))
        program = to_program(module, filename, max_registers, reporter.sources)
        module.release()
    program.source = text
    program.filename = filename
    program.instances, program.templates = module.instances, module.templates
    program.build = {"max_registers": max_registers, "instantiate": tuple(instantiate)}
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


def compile_path(path: str | Path, max_registers: int | None = None, instantiate: tuple[str, ...] = ()):
    """A `.vk` or `.vasm` file -> `isa.Program` (`instantiate`: as for `compile_source`)."""
    text = read_source(path)
    if str(path).endswith(".vasm"):
        return assemble(text, str(path))
    return compile_source(text, str(path), max_registers=max_registers, instantiate=instantiate)
