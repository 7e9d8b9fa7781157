"""Time to compile a 1,000-line kernel file, stage by stage, and compile time on long generated kernels.

    python benchmarks/compile_time.py [--lines 1000] [--repeat 5] [--long 20000]

The file is made of the examples' kernels, renamed and repeated until it has the requested number of
lines (so it is real, varied code: loops, shared memory, atomics, divergence).  Prints the best time of
each stage over the repeats and the whole pipeline's; the target is < 0.5 s for 1,000 lines.

Then one kernel of `--long` statements each: `if (a > i) s += k;` (branchy: a basic block and a phi
per statement), straight-line arithmetic, and `--long // 10` nested ifs; compile time must grow
linearly (the target: 20,000 ifs in under 5 s).  `--long 0` skips them.  For the ifs it also prints
the CPU time of each stage (front end, the optimiser, the verifier, selection, register allocation,
branch clean-up, reconvergence), to show where the time goes, and of each step of the front end
(preprocess, parse, check, lower) on a second run.
"""
import argparse
import re
import resource
import time
from pathlib import Path

from vgpu import ir, pipeline
from vgpu.frontend import to_ir

ROOT = Path(__file__).resolve().parents[1]


def make_source(lines: int) -> str:
    names = ["vector_add", "saxpy", "reduce", "matmul", "histogram", "collatz"]   # no file-scope symbols
    kernels = [(ROOT / "examples" / f"{n}.vk").read_text() for n in names]
    out, k = [], 0
    while sum(s.count("\n") for s in out) < lines:
        src = kernels[k % len(kernels)]
        src = re.sub(r"__global__ void (\w+)", lambda m: f"__global__ void {m[1]}_{k}", src)
        src = re.sub(r"#define (\w+)", lambda m: f"#undef {m[1]}\n#define {m[1]}", src)
        out.append(src)
        k += 1
    return "\n".join(out)


def best(fn, repeat, clock=time.perf_counter):
    times, value = [], None
    for _ in range(repeat):
        t0 = clock()
        value = fn()
        times.append(clock() - t0)
    return min(times), value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--long", type=int, default=20000)
    a = ap.parse_args()
    src = make_source(a.lines)
    n_lines = src.count("\n") + 1
    to_ir(src, "bench.vk")                                   # warm up: builds the parser once
    t_front, module = best(lambda: to_ir(src, "bench.vk"), a.repeat)
    t_opt, _ = best(lambda: ir.optimize(to_ir(src, "bench.vk")), a.repeat)
    t_opt -= t_front
    opt = ir.optimize(to_ir(src, "bench.vk"))
    t_isa = min(_isa_only(src) for _ in range(a.repeat))
    program = pipeline.to_program(opt, "bench.vk")
    n_instr = sum(len(k.instrs) for k in program.kernels.values())
    wall, _ = best(lambda: pipeline.compile_source(src, "bench.vk"), a.repeat)
    cpu, _ = best(lambda: pipeline.compile_source(src, "bench.vk"), a.repeat, time.process_time)
    print(f"{n_lines} lines, {len(opt.kernels)} kernels, {n_instr} instructions")
    print(f"  front end (preprocess, parse, check, lower): {t_front * 1000:7.1f} ms")
    print(f"  IR passes (inline, fold, DCE, ...):           {t_opt * 1000:7.1f} ms")
    print(f"  ISA (select, allocate, reconverge):           {t_isa * 1000:7.1f} ms")
    print(f"  whole pipeline (vgpu.pipeline.compile_source, with the IR verifier): {wall * 1000:.1f} ms wall, "
          f"{cpu * 1000:.1f} ms CPU  (target < 500 ms per 1,000 lines)")
    if a.long:
        long_kernels(a.long)


def _isa_only(src: str) -> float:
    """Seconds of `to_program` alone (selection, allocation, clean-up, reconvergence) on src."""
    module = ir.optimize(to_ir(src, "bench.vk"))
    t0 = time.perf_counter()
    pipeline.to_program(module, "bench.vk")
    return time.perf_counter() - t0


def long_kernels(n: int) -> None:
    head = "__global__ void k(int *o, int a)\n{\n    int s = 0;\n"
    cases = {
        f"{n} ifs": "".join(f"    if (a > {i}) s += {i % 7 + 1};\n" for i in range(n)),
        f"{n} straight-line statements": "".join(f"    s = s * {i % 5 + 3} + (a ^ {i});\n" for i in range(n)),
        f"{n // 10} nested ifs": "    " + "if (a > 1) " * (n // 10) + "s = a;\n",
    }
    for name, body in cases.items():
        src = head + body + "    o[0] = s;\n}\n"
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0, c0 = time.perf_counter(), time.process_time()
        pipeline.compile_source(src, "long.vk")
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
        print(f"  {name:32s} {wall:6.2f} s wall, {cpu:6.2f} s CPU, peak memory +{grew:.0f} MB"
              + ("  (target < 5 s)" if name.endswith(" ifs") and "nested" not in name else ""))
        if name.endswith(" ifs") and "nested" not in name:
            print("    stages (CPU s): " + ", ".join(f"{k} {v:.2f}" for k, v in stage_times(src).items()))
            print("    front end (CPU s): " + ", ".join(f"{k} {v:.2f}" for k, v in front_end_times(src).items()))


def front_end_times(src: str, filename: str = "long.vk") -> dict[str, float]:
    """CPU seconds of each step of the front end on src (a second run of it, step by step): the
    preprocessor, the parser (lexing, parsing and building the AST, which go together), the checker
    and the lowering to SSA IR."""
    import gc
    from vgpu.diagnostics import Reporter, deep_recursion
    from vgpu.frontend.check import check
    from vgpu.frontend.lower import lower
    from vgpu.frontend.parse import parse
    from vgpu.frontend.preprocess import preprocess
    reporter = Reporter()
    reporter.sources.add(filename, src)
    was = gc.isenabled()
    gc.disable()
    try:
        with deep_recursion():
            c0 = time.process_time()
            preprocess(src, filename, Reporter())
            c1 = time.process_time()
            tu = parse(src, filename, reporter)              # preprocesses again: counted out below
            c2 = time.process_time()
            sema = check(tu, reporter, ())
            c3 = time.process_time()
            lower(tu, sema, filename, reporter)
            c4 = time.process_time()
    finally:
        if was:
            gc.enable()
    return {"preprocess": c1 - c0, "parse": max(c2 - c1 - (c1 - c0), 0.0), "check": c3 - c2, "lower": c4 - c3}


def stage_times(src: str) -> dict[str, float]:
    """CPU seconds of each stage of `pipeline.compile_source` on src, in pipeline order."""
    import gc
    from vgpu.isa import peephole, reconv, regalloc, select
    times: dict[str, float] = {}

    def run(stage, fn, *args):
        c0 = time.process_time()
        out = fn(*args)
        times[stage] = times.get(stage, 0.0) + time.process_time() - c0
        return out

    was = gc.isenabled()
    gc.disable()                         # as the pipeline does while compiling
    try:
        module = run("front end", to_ir, src, "long.vk")
        run("optimiser", ir.optimize, module)
        run("verifier", ir.verify, module)
        program = run("selection", select.select_kernels, module)
        for k in program.kernels.values():
            run("regalloc", regalloc.allocate, k, None)
            run("peephole", peephole.clean_branches, k)
            run("reconvergence", reconv.place_reconvergence, k)
    finally:
        if was:
            gc.enable()
    return times


if __name__ == "__main__":
    main()
