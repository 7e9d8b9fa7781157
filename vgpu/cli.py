"""`vgpuc`: the command line (its commands, options and exit statuses are a fixed contract).

    vgpuc check FILE.vk|FILE.vasm       diagnostics only (one line on success)
    vgpuc ir    FILE.vk [--no-opt]      the SSA IR
    vgpuc asm   FILE.vk [-o OUT.vasm]   the assembly, with .vk source lines as comments
    vgpuc run   FILE.vk|FILE.vasm --kernel NAME --grid G --block B [--shared BYTES]
                [--constant NAME=@PATH.npy ...] [NAME=VALUE ...] [--save DIR] [--print NAME] [--stats]
                [--allow-reinterpret] [--workers N] [--sms N] [--max-steps N]
                [--check memcheck|racecheck|synccheck|initcheck|all ...] [--schedule random [--seed N]]
                [--trace FILE [--trace-block X,Y,Z] [--trace-warp N]] [--chrome-trace FILE.json]
                [--divergence-svg FILE.svg [--divergence-warp X,Y,Z:N] [--divergence-steps FIRST:LAST]]
                (docs/sanitizers.md, tracing.md)

    vgpuc profile FILE.vk ...           run's arguments (+ --json FILE): counters per source line
    vgpuc debug FILE.vk|FILE.vasm|FILE.py --kernel K --grid G --block B [NAME=VALUE ...]   a cuda-gdb-like REPL
    vgpuc serve [--host H] [--port P]   the explorer page and REST API (vgpu[web]; docs/explorer.md)

Exit status: 0 success, 1 compile error, 2 usage error, 3 device fault or sanitizer errors reported.
Never a traceback.  Results (printf, --print, --stats, profile) go to stdout; diagnostics, warnings,
sanitizer reports and the progress bar of a long launch (on a terminal) go to stderr.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from . import CompileError, Device, Module, pipeline, profile, to_device
from .runtime import tools
from .runtime.params import c_params
from .runtime.params import ArgumentError

EXIT_OK, EXIT_COMPILE, EXIT_USAGE, EXIT_FAULT = 0, 1, 2, 3


class UsageError(Exception):
    pass


def parse_dims(text: str, what: str, low: int = 1) -> tuple[int, ...]:
    """'X', 'X,Y' or 'X,Y,Z' -> a tuple of 1 to 3 ints >= low (1: sizes, 0: block coordinates)."""
    try:
        t = tuple(int(p) for p in text.split(","))
    except ValueError:
        t = ()
    if not 1 <= len(t) <= 3 or any(v < low for v in t):
        kind = "positive integers" if low == 1 else f"integers >= {low}"
        raise UsageError(f"--{what} takes X, X,Y or X,Y,Z ({kind}), not {text!r}")
    return t


def _parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The top-level parser and one parser per command (kernel arguments may mix with options)."""
    ap = argparse.ArgumentParser(prog="vgpuc", description="Compile and run .vk kernels on a virtual GPU.",
                                 epilog="exit status: 0 success, 1 compile error, 2 usage error, 3 device fault "
                                        "or sanitizer errors.  `vgpuc COMMAND --help` for a command's options.")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    p = sub.add_parser("check", help="report diagnostics only")
    p.add_argument("file", metavar="FILE.vk|FILE.vasm")
    p = sub.add_parser("ir", help="print the SSA IR")
    p.add_argument("file", metavar="FILE.vk")
    p.add_argument("--no-opt", action="store_true", help="print the IR before optimisation")
    p = sub.add_parser("asm", help="print the assembly")
    p.add_argument("file", metavar="FILE.vk")
    p.add_argument("-o", "--output", metavar="OUT.vasm", help="write to this file instead of stdout (-: stdout)")
    p.add_argument("--max-registers", type=int, metavar="N", help="spill to local memory beyond N 32-bit registers")
    p.add_argument("--debug-info", action="store_true",
                   help="add the compiler's debug information: .var directives and a table of where "
                        "each source variable lives over which pcs (docs/isa.md, docs/debugging.md)")
    p.add_argument("--kernel", action="append", default=[], metavar="NAME",
                   help="also instantiate this kernel template instance, e.g. 'reduce<256, true>' (repeatable)")
    _run_arguments(sub.add_parser("run", help="run a kernel"))
    p = sub.add_parser("profile", help="run a kernel and print its counters per source line")
    _run_arguments(p)
    p.add_argument("--json", metavar="FILE", help="also write the profile as JSON to FILE")
    p = sub.add_parser("debug", help="step through a kernel: a cuda-gdb-like REPL (docs/debugging.md)")
    p.add_argument("file", metavar="FILE.vk|FILE.vasm|FILE.py")
    p.add_argument("--kernel", metavar="NAME", help="the kernel to debug (optional when the file has one)")
    p.add_argument("--grid", required=True, metavar="G", help="blocks in the grid: X, X,Y or X,Y,Z")
    p.add_argument("--block", required=True, metavar="B", help="threads per block: X, X,Y or X,Y,Z")
    p.add_argument("--shared", type=int, default=0, metavar="BYTES", help="dynamic shared memory per block")
    p.add_argument("--check", action="append", default=[], metavar="TOOL", help="sanitizers, as for run")
    p.add_argument("-x", "--commands", metavar="FILE", help="read commands from FILE instead of stdin")
    p.add_argument("args", nargs="*", metavar="NAME=VALUE",
                   help="kernel parameters: a number for a scalar, @PATH.npy for a pointer, V1,V2,... for a struct, "
                        "texture:@PATH.npy[:filter=linear][:address=clamp][:normalized=1][:channels=N] for a "
                        "cudaTextureObject_t")
    p = sub.add_parser("serve", help="serve the explorer page and the REST API (needs vgpu[web])")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    return ap, sub.choices


def _run_arguments(p) -> None:
    """The arguments of `run`, which `profile` takes too."""
    p.add_argument("file", metavar="FILE.vk|FILE.vasm")
    p.add_argument("--kernel", metavar="NAME", help="the kernel to run (optional when the file has one)")
    p.add_argument("--grid", required=True, metavar="G", help="blocks in the grid: X, X,Y or X,Y,Z")
    p.add_argument("--block", required=True, metavar="B", help="threads per block: X, X,Y or X,Y,Z")
    p.add_argument("--shared", type=int, default=0, metavar="BYTES", help="dynamic shared memory per block")
    p.add_argument("--save", metavar="DIR", help="write every pointer argument to DIR/NAME.npy after the launch")
    p.add_argument("--stats", action="store_true", help="print the launch's counters")
    p.add_argument("--constant", action="append", default=[], metavar="NAME=@PATH.npy",
                   help="fill __constant__ symbol NAME from a .npy file before the launch (repeatable)")
    p.add_argument("--print", action="append", default=[], metavar="NAME",
                   help="print pointer argument NAME after the launch (repeatable)")
    p.add_argument("--allow-reinterpret", action="store_true",
                   help="accept out-of-range integers (wrapped as C converts them) and arrays whose dtype is not "
                        "the pointee type (their bytes reinterpreted)")
    p.add_argument("--workers", type=int, metavar="N",
                   help="SM worker processes (0: in-process; default $VGPU_WORKERS, else one per core and SM)")
    p.add_argument("--sms", type=int, default=4, metavar="N", help="number of SMs (default 4)")
    p.add_argument("--executor", choices=("interp", "compiled", "auto"),
                   help="who runs launches: the numpy interpreter, the compiled executor, or auto (default "
                        "$VGPU_EXECUTOR, else auto)")
    p.add_argument("--max-steps", type=int, metavar="N",
                   help="watchdog: scheduler steps a wave may take before the launch is stopped")
    p.add_argument("--check", action="append", default=[], metavar="TOOL",
                   help="sanitizer: memcheck, racecheck, synccheck, initcheck or all (repeatable or a comma "
                        "list); errors are reported on stderr and make the exit status 3")
    p.add_argument("--schedule", choices=("fixed", "random"), default="fixed",
                   help="warp and block order: fixed (default) or random, seeded by --seed")
    p.add_argument("--seed", type=int, metavar="N",
                   help="seed of --schedule random (default: a fresh one, printed so that you can repeat it)")
    p.add_argument("--timing", metavar="PRESET", help="model the launch's time on a GPU: h100, h200, a100, rtx3080, "
                   "teaching or a .json preset (docs/timing.md)")
    p.add_argument("--trace", metavar="FILE", help="write one line per warp instruction to FILE ('-': stderr)")
    p.add_argument("--trace-block", metavar="X[,Y,Z]", help="--trace only this block")
    p.add_argument("--trace-warp", type=int, metavar="N", help="--trace only warp N of each block")
    p.add_argument("--chrome-trace", metavar="FILE.json", help="write a trace for Perfetto / chrome://tracing")
    p.add_argument("--divergence-svg", metavar="FILE.svg", help="draw one warp's active lanes over time")
    p.add_argument("--divergence-warp", default="0:0", metavar="X[,Y,Z]:N",
                   help="the block and warp that --divergence-svg draws (default 0:0)")
    p.add_argument("--divergence-steps", metavar="FIRST:LAST",
                   help="draw only what the warp executed at scheduler steps FIRST..LAST (inclusive; the text "
                        "trace shows each instruction's step)")
    p.add_argument("--max-registers", type=int, metavar="N", help="spill to local memory beyond N 32-bit registers")
    p.add_argument("args", nargs="*", metavar="NAME=VALUE",
                   help="kernel parameters: a number for a scalar, @PATH.npy for a pointer, V1,V2,... for a struct, "
                        "texture:@PATH.npy[:filter=linear][:address=clamp][:normalized=1][:channels=N] for a "
                        "cudaTextureObject_t")


def _compile(path: str, max_registers: int | None = None, instantiate: tuple[str, ...] = ()):
    return pipeline.compile_path(path, max_registers=max_registers, instantiate=instantiate)


def cmd_check(a) -> int:
    program = _compile(a.file)
    names = list(program.kernels)
    kernels = f"{len(names)} kernel{'s' if len(names) != 1 else ''}" + (f" ({', '.join(names)})" if names else "")
    templates = getattr(program, "templates", None)
    if templates:
        kernels += f", kernel template{'s' if len(templates) != 1 else ''} {', '.join(templates)}"
    print(f"{a.file}: ok, {kernels}")
    return EXIT_OK


def cmd_ir(a) -> int:
    if Path(a.file).suffix == ".vasm":
        raise UsageError(f"ir needs a .vk source: {a.file} is assembly (vgpuc check and vgpuc run take it)")
    sys.stdout.write(tools.ir_text(a.file, optimize=not a.no_opt))
    return EXIT_OK


def cmd_asm(a) -> int:
    program = _compile(a.file, a.max_registers, tuple(a.kernel))
    text = tools.assembly(program, a.debug_info)
    if a.output:
        _write(a.output, text, "-o")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _write(path: str, text: str, what: str) -> None:
    """Write text to the file `path` ('-': stdout), a UsageError naming the option if it cannot be."""
    if path == "-":
        sys.stdout.write(text)
        return
    try:
        Path(path).write_text(text)
    except OSError as e:
        raise UsageError(f"{what}: cannot write {path!r}: {e.strerror}") from None


def _load_npy(path: str, what: str) -> tuple[np.ndarray, np.dtype]:
    """The array of a .npy file in the machine's byte order, and the dtype the file gave (to save it back)."""
    try:
        host = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise UsageError(f"cannot load {path!r} for {what}: {e}") from None
    given = host.dtype
    if not host.dtype.isnative:                  # e.g. '>f4': the device is little-endian
        host = host.astype(host.dtype.newbyteorder("="))
    return host, given


def _kernel_args(kernel, pairs: list[str], device):
    """NAME=VALUE pairs -> (launch arguments in parameter order, {name: (DeviceArray, dtype given)} of pointers)."""
    given: dict[str, str] = {}
    for item in pairs:
        name, eq, value = item.partition("=")
        if not eq or not name:
            raise UsageError(f"kernel arguments are NAME=VALUE, not {item!r}")
        if name not in kernel.param_names:
            raise UsageError(f"kernel {kernel.name} has no parameter {name!r} "
                             f"(parameters: {', '.join(kernel.param_names)})")
        if name in given:
            raise UsageError(f"parameter {name!r} of kernel {kernel.name} is given twice "
                             f"({name}={given[name]} and {item})")
        given[name] = value
    groups = c_params(kernel.code.params)
    defaulted = [name for name, leaves in groups if getattr(leaves[0], "default", None) is not None]
    missing = [n for n in kernel.param_names if n not in given and n not in defaulted]
    if missing:
        raise UsageError(f"missing kernel argument(s): {', '.join(missing)} "
                         f"(give NAME=VALUE for each of {', '.join(kernel.param_names)})")
    values, arrays = [], {}
    for i, (name, leaves) in enumerate(groups):
        if name not in given:                    # a default argument, and so are the ones after it
            later = [q for q, _ in groups[i:] if q in given]
            if later:
                raise UsageError(f"give {name}= too (or leave out {', '.join(later)}): as in C++, only the "
                                 "last arguments may be left to their defaults")
            break
        raw = given[name]
        if getattr(leaves[0], "group", None) is None:
            values.append(_scalar_arg(kernel, leaves[0], raw, arrays, device))
            continue
        parts = raw.split(",")                   # a struct: its scalars in order, comma-separated
        if len(parts) != len(leaves):
            raise UsageError(f"parameter {name!r} of kernel {kernel.name} is a struct of {len(leaves)} scalars "
                             f"({', '.join(p.name for p in leaves)}): give {name}=V1,V2,... ({len(parts)} given)")
        values.append(tuple(_scalar_arg(kernel, p, x, arrays, device) for p, x in zip(leaves, parts)))
    return values, arrays


def _scalar_arg(kernel, p, raw: str, arrays: dict, device):
    """One scalar or pointer argument from its command-line text: a number, @PATH.npy (an array for a
    pointer), or texture:@PATH.npy[:filter=linear][:address=clamp][:normalized=1][:channels=4]
    [:read_mode=normalized] (a texture object over the array, for a cudaTextureObject_t)."""
    if p.is_pointer:
        if not raw.startswith("@"):
            raise UsageError(f"parameter {p.name!r} of kernel {kernel.name} is a pointer: give @PATH.npy")
        host, dtype = _load_npy(raw[1:], f"parameter {p.name!r}")
        arrays[p.name] = (to_device(host, device=device), dtype)
        return arrays[p.name][0]
    if raw.startswith("texture:"):
        return _texture_arg(kernel, p, raw, device)
    try:
        return float(raw) if p.type.is_float else int(raw, 0)
    except ValueError:
        kind = "a number" if p.type.is_float else "an integer"
        raise UsageError(f"parameter {p.name!r} of kernel {kernel.name} takes {kind}, not {raw!r}") from None


def _texture_arg(kernel, p, raw: str, device) -> int:
    """The handle of a texture object over the array of `texture:@PATH.npy:option=value...`."""
    from .runtime.texture import texture
    if p.type.name != "u64":
        raise UsageError(f"parameter {p.name!r} of kernel {kernel.name} is not a cudaTextureObject_t")
    path, *opts = raw[len("texture:"):].split(":")
    if not path.startswith("@"):
        raise UsageError(f"{p.name}=texture: takes @PATH.npy first, not {path!r}")
    host, _ = _load_npy(path[1:], f"parameter {p.name!r}")
    kw: dict = {}
    for opt in opts:
        key, eq, val = opt.partition("=")
        if not eq or key not in ("filter", "address", "normalized", "channels", "read_mode"):
            raise UsageError(f"{p.name}=texture: options are filter=, address=, normalized=, channels=, "
                             f"read_mode=, not {opt!r}")
        if key in ("normalized", "channels"):
            try:
                kw[key] = bool(int(val)) if key == "normalized" else int(val)
            except ValueError:
                raise UsageError(f"{p.name}=texture: {key}= takes an integer, not {val!r}") from None
        else:
            kw[key] = val.split(",") if key == "address" and "," in val else val
    try:
        return texture(to_device(host, device=device), **kw)
    except (TypeError, ValueError) as e:
        raise UsageError(f"parameter {p.name!r}: {e}") from None


def _set_constants(module, pairs: list[str], device, allow_reinterpret: bool) -> None:
    """--constant NAME=@PATH.npy: fill each __constant__ symbol before the launch."""
    seen = set()
    for item in pairs:
        name, eq, value = item.partition("=")
        if not eq or not name or not value.startswith("@"):
            raise UsageError(f"--constant takes NAME=@PATH.npy, not {item!r}")
        if name in seen:
            raise UsageError(f"--constant {name} is given twice")
        seen.add(name)
        host, _ = _load_npy(value[1:], f"--constant {name}")
        try:
            module.set_constant(name, host, device=device, allow_reinterpret=allow_reinterpret)
        except KeyError as e:
            raise UsageError(f"--constant {name}: {e.args[0]}") from None
        except (TypeError, ValueError) as e:
            raise UsageError(f"--constant {name}: {e}") from None


def _device(a, checks) -> Device:
    """The device `run` asks for; --schedule random without --seed picks a seed and says which."""
    if a.max_steps is not None and a.max_steps < 1:
        raise UsageError(f"--max-steps must be a positive integer, not {a.max_steps}")
    seed = a.seed
    if seed is not None and a.schedule != "random":
        print("vgpuc: warning: --seed has no effect without --schedule random", file=sys.stderr)
    if seed is None:
        seed = random.SystemRandom().randrange(1 << 31) if a.schedule == "random" else 0
        if a.schedule == "random":
            print(f"vgpuc: --schedule random with seed {seed} (--seed {seed} repeats this order)", file=sys.stderr)
    try:
        return Device(num_sms=a.sms, workers=a.workers, schedule=a.schedule, seed=seed, check=checks,
                      counters=a.stats or a.command == "profile", max_steps=a.max_steps, timing=a.timing,
                      executor=a.executor)
    except ValueError as e:                      # --sms, --workers, --max-steps or $VGPU_WORKERS out of range
        raise UsageError(str(e)) from None


def _pick_kernel(a, module: Module):
    """The kernel `--kernel` names in module (its only kernel when the option is left out)."""
    names = module.kernel_names
    if a.kernel is None:
        if len(names) != 1:
            raise UsageError(f"--kernel is required: {a.file} has kernels {', '.join(names) or '(none)'}")
        a.kernel = names[0]
    try:
        return module.get_function(a.kernel)
    except KeyError as e:
        raise UsageError(e.args[0]) from None


def cmd_run(a) -> int:
    grid, block = parse_dims(a.grid, "grid"), parse_dims(a.block, "block")
    if a.shared < 0:
        raise UsageError("--shared must be >= 0")
    module = Module(_compile(a.file, a.max_registers))
    kernel = _pick_kernel(a, module)
    try:
        checks = tools.parse_checks(a.check)
    except ValueError as e:
        raise UsageError(f"--check: {e}") from None
    steps = _step_range(a.divergence_steps) if a.divergence_steps else None
    tracer, trace_file = _tracer(a)
    device = _device(a, checks)
    try:
        _set_constants(module, a.constant, device, a.allow_reinterpret)
        values, arrays = _kernel_args(kernel, a.args, device)
        result = _launch(a, kernel, values, grid, block, device, tracer, trace_file, steps)
        if a.save:
            try:
                out = Path(a.save)
                out.mkdir(parents=True, exist_ok=True)
                for name, (arr, dtype) in arrays.items():
                    np.save(out / f"{name}.npy", arr.copy_to_host().astype(dtype, copy=False))
            except OSError as e:
                raise UsageError(f"--save: cannot write to {a.save!r}: {e.strerror}") from None
        for name in a.print:
            if name not in arrays:
                raise UsageError(f"--print {name}: not a pointer argument (pointers: {', '.join(arrays) or 'none'})")
            with np.printoptions(threshold=20, edgeitems=4):
                print(f"{name} = {arrays[name][0].copy_to_host()}")
        if a.stats:
            print(result.stats.format())
        if getattr(result, "timing", None) is not None:
            print(result.timing.format())
        if a.command == "profile":
            _profile(a, module.program, result)
    finally:
        device.close()
    return EXIT_FAULT if result.reports else EXIT_OK


def _tracer(a):
    """The Tracer that --trace, --chrome-trace and --divergence-svg ask for (or None), and the
    text trace's open file."""
    if not (a.trace or a.chrome_trace or a.divergence_svg):
        if a.trace_block or a.trace_warp is not None:
            raise UsageError("--trace-block and --trace-warp filter --trace FILE")
        if a.divergence_steps:
            raise UsageError("--divergence-steps selects the steps of --divergence-svg FILE.svg")
        return None, None
    block = parse_dims(a.trace_block, "trace-block", low=0) if a.trace_block else None   # Tracer pads to 3-D
    div = _divergence_warp(a.divergence_warp) if a.divergence_svg else None
    try:
        text = sys.stderr if a.trace == "-" else open(a.trace, "w") if a.trace else None
    except OSError as e:
        raise UsageError(f"--trace: cannot write {a.trace!r}: {e.strerror}") from None
    return tools.Tracer(text=text, block=block, warp=a.trace_warp, chrome=bool(a.chrome_trace), divergence=div), text


def _divergence_warp(text: str) -> tuple[tuple[int, ...], int]:
    """--divergence-warp 'X[,Y,Z]:N' -> (block, warp index)."""
    spec, _, warp = text.rpartition(":")
    try:
        if warp.isdigit():
            return parse_dims(spec, "divergence-warp", low=0), int(warp)
    except UsageError:
        pass
    raise UsageError(f"--divergence-warp takes X[,Y,Z]:N (a block and a warp index), not {text!r}")


def _step_range(text: str) -> tuple[int, int]:
    """--divergence-steps 'FIRST:LAST' -> (first, last), 0 <= first <= last."""
    first, colon, last = text.partition(":")
    if colon and first.isdigit() and last.isdigit() and int(first) <= int(last):
        return int(first), int(last)
    raise UsageError(f"--divergence-steps takes FIRST:LAST (step numbers, FIRST <= LAST), not {text!r}")


class Progress:
    """A progress bar on `stream` (a terminal) for a launch that runs longer than `after` seconds: the
    launch calls it with (blocks done, blocks in all); the bar is erased when the launch ends."""

    WIDTH = 30

    def __init__(self, stream, after: float = 2.0, clock=time.monotonic):
        self.stream, self.after, self.clock = stream, after, clock
        self.start = clock()
        self.drawn = 0.0                         # when the bar was last drawn (0: not on screen)

    def __call__(self, done: int, total: int) -> None:
        now = self.clock()
        if done >= total:
            self.close()
        elif now - self.start >= self.after and now - self.drawn >= 0.1:
            fill = self.WIDTH * done // max(total, 1)
            self.stream.write(f"\r[{'#' * fill}{'.' * (self.WIDTH - fill)}] {done}/{total} blocks, "
                              f"{now - self.start:.0f} s")
            self.stream.flush()
            self.drawn = now

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.drawn = 0.0


def _launch(a, kernel, values, grid, block, device, tracer, trace_file, steps):
    """Launch; print the sanitizer reports and write the trace files (also after a fault)."""
    reports = []
    progress = Progress(sys.stderr) if sys.stderr.isatty() else None
    try:
        result = kernel(*values, grid=grid, block=block, shared=a.shared, device=device, trace=tracer,
                        allow_reinterpret=a.allow_reinterpret, progress=progress)
        reports = result.reports
        return result
    except ArgumentError as e:
        raise UsageError(str(e)) from None
    except tools.DeviceError as e:
        reports = getattr(e, "reports", [])
        raise
    finally:
        if progress is not None:
            progress.close()
        sys.stdout.flush()
        for r in reports:
            print(r.format(), file=sys.stderr)
        if device.sim.check:
            print(f"vgpuc: {'+'.join(sorted(device.sim.check))}: {tools.summary(reports)}", file=sys.stderr)
        if tracer is not None:
            _write_traces(a, tracer, trace_file, steps)


def _write_traces(a, tracer, trace_file, steps) -> None:
    if trace_file is not None and trace_file is not sys.stderr:
        trace_file.close()
    if a.chrome_trace:
        _write(a.chrome_trace, json.dumps(tracer.chrome_json()), "--chrome-trace")
    if a.divergence_svg:
        _write(a.divergence_svg, tracer.divergence_svg(steps=steps), "--divergence-svg")


def _profile(a, program, result) -> None:
    """`vgpuc profile`: the annotated source on stdout, and --json FILE."""
    if a.json:
        _write(a.json, profile.to_json(result, program), "--json")
    print(profile.render(result, program, color=sys.stdout.isatty() and "NO_COLOR" not in os.environ))


def cmd_debug(a) -> int:
    """vgpuc debug: a Session over one launch, driven by commands on stdin (vgpu.debug.repl)."""
    from .debug import DebugError, Session, repl
    grid, block = parse_dims(a.grid, "grid"), parse_dims(a.block, "block")
    try:
        checks = tools.parse_checks(a.check)
    except ValueError as e:
        raise UsageError(f"--check: {e}") from None
    device = Device(workers=0)
    try:
        if a.file.endswith(".py"):
            kernel, values = repl.python_kernel(a.file, a.kernel, a.args, UsageError)
        else:
            kernel = _pick_kernel(a, Module(_compile(a.file)))
            values, _ = _kernel_args(kernel, a.args, device)
        try:
            session = Session(kernel, *values, grid=grid, block=block, shared=a.shared, device=device,
                              check=checks or None)
        except DebugError as e:
            raise UsageError(str(e)) from None
        if a.commands:
            try:
                with open(a.commands) as f:
                    return repl.loop(session, f)
            except OSError as e:
                raise UsageError(f"-x: cannot read {a.commands!r}: {e.strerror}") from None
        return repl.loop(session)
    finally:
        device.close()


def cmd_serve(a) -> int:
    """`vgpuc serve`: the explorer at /, OpenAPI at /docs (vgpu.web), until interrupted."""
    if not 0 < a.port < 65536:
        raise UsageError(f"--port must be from 1 to 65535, not {a.port}")
    try:
        from . import web
        import fastapi, uvicorn  # noqa: F401, E401 - the extra's dependencies
    except ImportError as e:
        raise UsageError(f"serve needs the web extra: pip install 'vgpu[web]' ({e})") from None
    print(f"vgpuc: serving the explorer at http://{a.host}:{a.port}/ (API docs at /docs); Ctrl-C stops",
          file=sys.stderr)
    web.serve(a.host, a.port)
    return EXIT_OK


COMMANDS = {"debug": cmd_debug, "check": cmd_check, "ir": cmd_ir, "asm": cmd_asm, "run": cmd_run, "profile": cmd_run,
            "serve": cmd_serve}


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings (a capped --workers, a large trace, ...) as one line on stderr, without the source line."""
    text = str(message)
    print(text if text.startswith("vgpu") else f"vgpuc: warning: {text}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    ap, commands = _parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in commands:
        a = commands[argv[0]].parse_intermixed_args(argv[1:])
        a.command = argv[0]
    else:
        a = ap.parse_args(argv)
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        code = _run_command(a)
    sys.stdout.flush()
    return code


def _run_command(a) -> int:
    try:
        return COMMANDS[a.command](a)
    except CompileError as e:
        sys.stdout.flush()
        print(e.render(), file=sys.stderr)
        return EXIT_COMPILE
    except UsageError as e:
        print(f"vgpuc: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except tools.DeviceError as e:
        sys.stdout.flush()
        print(f"vgpuc: device fault: {e}", file=sys.stderr)
        return EXIT_FAULT
    except KeyboardInterrupt:
        print("vgpuc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as e:  # noqa: BLE001 - a bug in vgpu: one clear line, never a traceback
        print(f"vgpuc: internal error: {type(e).__name__}: {e} (please report this as a bug)", file=sys.stderr)
        return 4


if __name__ == "__main__":
    sys.exit(main())
