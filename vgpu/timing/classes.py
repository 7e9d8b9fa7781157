"""What the timing model needs to know about each instruction of a kernel, read once from the ISA table.

In:  a decoded kernel's ops (`vgpu.sim.decode.Op`: `.instr`, `.spec` its ISA table row) and a Preset.
Out: per pc an `Info`: its kind (how the replay treats it), timing class, pipe, issue cycles, pipe
     interval, result latency, the stall reason of a warp waiting for its result (Nsight Compute's
     names), the registers it reads and writes, and its flops per thread (for the roofline).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..isa.program import Imm
from ..isa.regalloc import defs_uses

# kinds: what the replay does beyond the scoreboard
ALU, GLOBAL, SHARED, CONST, ATOMIC, SATOMIC, BARRIER, EXIT, FENCE, GENERIC = range(10)
SFU_OPS = ("rcp", "sqrt", "rsqrt", "ex2", "lg2", "sin", "cos")
# the stall reason of waiting for a result of each class (Nsight Compute's smsp__pcsamp_warps_issue_stalled_*)
WAIT_REASON = {"int": "wait", "fp32": "wait", "fp64": "wait", "move": "wait", "vote": "wait", "branch": "branch_resolving",
               "sfu": "short_scoreboard", "libm": "wait", "idiv": "wait", "fdiv": "wait", "shuffle": "short_scoreboard",
               "constant": "wait", "shared": "short_scoreboard", "shared_atomic": "short_scoreboard",
               "global": "long_scoreboard", "atomic": "long_scoreboard", "fence": "membar", "printf": "long_scoreboard",
               "barrier": "barrier", "exit": "wait", "other": "wait"}
PIPE_OF = {"int": "alu", "move": "alu", "vote": "alu", "fp32": "fma", "libm": "fma", "fdiv": "fma", "idiv": "alu",
           "fp64": "fp64", "sfu": "xu", "branch": "cbu", "shuffle": "mio", "constant": "alu", "other": "alu"}
EMULATED = ("libm", "idiv", "fdiv")      # CUDA runs these as instruction sequences: they hold the issue slot


@dataclass(frozen=True)
class Info:
    kind: int
    cls: str
    pipe: str
    issue: int              # cycles the instruction holds its sub-partition's issue slot
    interval: int           # cycles before its pipe takes another warp instruction
    latency: int            # cycles until its result may be read (memory: the base of its path)
    reason: str             # stall reason while a warp waits for its result
    srcs: tuple
    dsts: tuple
    flops: int              # floating-point operations per active thread (FMA: 2)
    space: str = ""         # ld/st/atom state space written in the mnemonic ('' generic)


def classify(op) -> str:
    """The timing class of a decoded instruction."""
    ins, sp = op.instr, op.spec
    m = sp.machine
    if m in ("load", "store"):
        return "memory"
    if m == "atomic":
        return "atomic"
    if m in ("barrier",):
        return "barrier"
    if m == "exit" or m == "trap":
        return "exit"
    if m == "fence":
        return "fence"
    if m == "printf":
        return "printf"
    if m == "branch":
        return "branch"
    if m == "shuffle":
        return "shuffle"
    if m in ("vote", "activemask", "warp_sync"):
        return "vote"
    if m == "move":
        return "move"
    fp = "f64" in ins.types or "f32" in ins.types
    if sp.math:
        return "sfu" if "approx" in ins.mods else "libm"
    if sp.op in SFU_OPS:
        return "sfu" if ("approx" in ins.mods or sp.op in ("ex2", "lg2", "rsqrt")) and "f64" not in ins.types else \
            ("fdiv" if "f32" in ins.types else "fp64")
    if sp.op in ("div", "rem"):
        if not fp:       # by a constant: compiled to a multiply-high and shifts; by a register: a subroutine
            return "int" if isinstance(ins.operands[-1], Imm) else "idiv"
        return "sfu" if "approx" in ins.mods else ("fdiv" if "f32" in ins.types else "libm")
    if "f64" in ins.types:
        return "fp64"
    if "f32" in ins.types and sp.op != "cvt":
        return "fp32"
    return "int"


def registers(op) -> tuple[tuple, tuple]:
    """(registers read, registers written) by an instruction (the guard predicate is read), as register
    allocation reads them."""
    dsts, srcs = defs_uses(op.instr)
    return tuple(dict.fromkeys(r.name for r in srcs)), tuple(dict.fromkeys(r.name for r in dsts))


def flops_of(op, cls: str) -> int:
    if cls not in ("fp32", "fp64"):
        return 0
    name = op.spec.op
    if name == "fma":
        return 2
    return 1 if name in ("add", "sub", "mul", "neg", "abs", "min", "max") else 0


def infos(ops, p) -> list[Info]:
    """An Info per pc of a decoded kernel under preset `p`."""
    lat, itv = p.latency, p.interval
    out = []
    for op in ops:
        cls = classify(op)
        srcs, dsts = registers(op)
        space = next((m for m in op.instr.mods if m in ("global", "shared", "local", "const", "param")), "")
        if cls == "memory":
            kind = {"shared": SHARED, "const": CONST, "param": CONST, "global": GLOBAL, "local": GLOBAL}.get(space, GENERIC)
            info = Info(kind, "shared" if kind == SHARED else "constant" if kind == CONST else "global",
                        "mio" if kind == SHARED else "alu" if kind == CONST else "lsu", 1, 1,
                        lat["shared"] if kind == SHARED else lat["constant"] if kind == CONST else lat["l1"],
                        "short_scoreboard" if kind == SHARED else "wait" if kind == CONST else "long_scoreboard",
                        srcs, dsts, 0, space)
        elif cls == "atomic":
            shared = space == "shared"
            info = Info(SATOMIC if shared else ATOMIC if space == "global" else GENERIC,
                        "shared_atomic" if shared else "atomic", "mio" if shared else "lsu", 1, 1,
                        lat["shared_atomic"] if shared else lat["atomic"],
                        "short_scoreboard" if shared else "long_scoreboard", srcs, dsts, 0, space or "atomic")
        elif cls == "barrier":
            info = Info(BARRIER, cls, "cbu", 1, 1, lat["barrier"], "barrier", srcs, dsts, 0)
        elif cls == "exit":
            info = Info(EXIT, cls, "cbu", 1, 1, 0, "wait", srcs, dsts, 0)
        elif cls == "fence":
            info = Info(FENCE, cls, "lsu", 1, 1, lat["fence"], "membar", srcs, dsts, 0)
        else:
            c = "other" if cls == "printf" else cls
            latency = lat["printf"] if cls == "printf" else lat[c] if c in lat else lat["int"]
            info = Info(ALU, c, PIPE_OF.get(c, "alu"), itv.get(c, 1) if c in EMULATED else 1, itv.get(c, 1), latency,
                        WAIT_REASON.get(c, "wait"), srcs, dsts, flops_of(op, c))
        out.append(info)
    return out
