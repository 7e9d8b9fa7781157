"""Instruction semantics: what each row of the ISA table does, as a closure over numpy arrays.

In:  one `Instr`, its row in the ISA table (`spec.family`), its pc and the kernel's `Operands`.
Out: `(kind, run)` for `decode.Op`: SIMPLE run(wave, warps, lanes) computes for the active `lanes`
     (a slice or index array over the wave's lanes) of `warps`, which then advance one pc;
     CONTROL run(wave, warps, lanes) moves the warps itself (branches, exits, barriers); WARP_SYNC
     run is (run(wave, warps, lanes, active), member-mask getter) and `barrier.Barriers.warp_sync`
     executes it once the member lanes are converged.

Rows without a `machine` column are arithmetic: they call `vgpu.arith` (`resolve`d once) with the
op the row names (`spec.semantics`), so the simulator and the constant folder cannot disagree.
The builders here are the machine operations, keyed by the table's `machine` column: moves,
memory, atomics (`atomics`), branches, exits, fences, barriers, warp-level operations and printf.
In one process every access of a wave executes in order, so a fence has nothing to do; with SM
worker processes (`pool`), global atomics hold the address's stripe lock and membar.gl/.sys is a
full memory barrier (`cfg.interlock`; see docs/workers.md).
"""
from __future__ import annotations

import numpy as np

from .. import arith
from ..isa import spec
from ..isa.program import Imm, Reg
from ..types import U32
from .atomics import atomic_rmw
from .config import DIVERGENT
from .faults import DeviceError, Trap, Unsupported
from .memory import SPACE_IDS
from .operands import DTYPE, Operands, reg_class, scalar_of
from .printf import format_c
from .simt import EXIT, lanes_to_masks, masks_to_lanes

SIMPLE, CONTROL, WARP_SYNC = range(3)


def build(ins, ops: Operands, pc: int):
    """(kind, run) of instruction `ins` at `pc` (see the module docstring)."""
    fam = spec.family(ins)
    if fam is None:
        raise Unsupported(f"unknown instruction '{ins.mnemonic}'")
    if fam.machine:
        return BUILDERS[fam.machine](ins, ops, pc, fam)
    if fam.sem:
        return SIMPLE, _alu(ins, ops, fam)
    raise Unsupported(f"the simulator has no semantics for '{ins.mnemonic}'")


# -- ALU ---------------------------------------------------------------------------------------------
_SRC_TYPE = {"s": lambda ts: ts[0], "sw": lambda ts: spec.wide(ts[0]), "sc": lambda ts: ts[1],
             "sp": lambda ts: "pred", "su": lambda ts: "u32"}
_DST_TYPE = {"d": lambda ts: ts[0], "dw": lambda ts: spec.wide(ts[0]), "du": lambda ts: "u32",
             "dp": lambda ts: "pred"}


def _alu(ins, ops: Operands, fam):
    kinds = fam.operand_kinds(ins.mods)
    types = ins.types
    op = spec.semantics(ins)
    dkind = kinds[0]
    put = ops.dst(ins.operands[0], _DST_TYPE[dkind](types))
    gets = [ops.src(o, _SRC_TYPE[k](types)) for o, k in zip(ins.operands[1:], kinds[1:])]
    t0 = scalar_of(types[0])
    src, mode = None, None
    if len(fam.types) == 2:                     # cvt: the source type is the second suffix
        t, src, mode = t0, scalar_of(types[1]), ".".join(ins.mods) or None
    elif dkind == "du":
        t, src = (U32, t0) if op != "brev" else (t0, None)
    elif dkind == "dw":
        t = scalar_of(spec.wide(types[0]))
    else:
        t, mode = t0, spec.rounding(ins)
    if fam.arg_order:                           # selp d, a, b, p  ->  select(p, a, b)
        gets = [gets[i] for i in fam.arg_order]
    if all(isinstance(o, Imm) for o in ins.operands[1:]):      # constant operands only: evaluate handles 0-d
        return lambda wave, warps, lanes: put(wave, lanes, arith.evaluate(op, t, [f(wave, lanes) for f in gets],
                                                                          src, mode))
    f = arith.resolve(op, t, src, mode)         # looked up once; the wave runs under np.errstate(all="ignore")
    if len(gets) == 1:
        g0, = gets
        return lambda wave, warps, lanes: put(wave, lanes, f((g0(wave, lanes),)))
    if len(gets) == 2:
        g0, g1 = gets
        return lambda wave, warps, lanes: put(wave, lanes, f((g0(wave, lanes), g1(wave, lanes))))
    if len(gets) == 3:
        g0, g1, g2 = gets
        return lambda wave, warps, lanes: put(wave, lanes, f((g0(wave, lanes), g1(wave, lanes), g2(wave, lanes))))
    return lambda wave, warps, lanes: put(wave, lanes, f([h(wave, lanes) for h in gets]))


def _mov(ins, ops, pc, fam):
    t = ins.types[0]
    put, get = ops.dst(ins.operands[0], t), ops.src(ins.operands[1], t)
    return SIMPLE, lambda wave, warps, lanes: put(wave, lanes, get(wave, lanes))


# -- memory ------------------------------------------------------------------------------------------
def _space(ins):
    for m in ins.mods:
        if m in spec.SPACES:
            return m
    return None


class MemoryAccess(tuple):
    """What a faulting memory access did, attached to its DeviceError as `.access` for observers:
    (pc, kind 'load'/'store'/'atomic', space id or None for generic, dtype, addresses, lane ids)."""
    __slots__ = ()


def access(wave, lanes, addr, space, dt, kind: str, pc: int):
    """The addresses `lanes` access and their (view, index, positions) parts (`WaveMemory.locate`),
    shown to the wave's observer once they passed the checks."""
    a = addr(wave, lanes)
    ids = wave.lane_ids(lanes)
    try:
        parts = wave.mem.locate(space, dt, a, ids, kind)
    except DeviceError as e:
        e.access = MemoryAccess((pc, kind, space, dt, a, ids))
        raise
    if wave.observer is not None:
        wave.observer.memory(wave, pc, kind, space, dt, a, ids)
    return a, parts


def _gather(parts, n, dt):
    """The loaded values of the (view, index, positions) parts of an access."""
    if len(parts) == 1 and parts[0][2] is None:
        view, idx, _ = parts[0]
        return view[idx]
    out = np.empty(n, dt)
    for view, idx, pos in parts:
        out[pos] = view[idx]
    return out


def _ld(ins, ops, pc, fam):
    space, t = _space(ins), ins.types[0]
    dt = DTYPE[t]
    put = ops.dst(ins.operands[0], t)
    if space == "param":
        off = ops.param_offset(ins.operands[1])
        return SIMPLE, lambda wave, warps, lanes: put(wave, lanes, np.frombuffer(wave.params, dt, 1, off)[0])
    addr, sp = ops.addr(ins.operands[1]), SPACE_IDS.get(space)

    def run(wave, warps, lanes):
        a, parts = access(wave, lanes, addr, sp, dt, "load", pc)
        put(wave, lanes, _gather(parts, a.size, dt))
    return SIMPLE, run


def _st(ins, ops, pc, fam):
    space, t = _space(ins), ins.types[0]
    dt = DTYPE[t]
    addr, get, sp = ops.addr(ins.operands[0]), ops.src(ins.operands[1], t), SPACE_IDS.get(space)

    def run(wave, warps, lanes):
        a, parts = access(wave, lanes, addr, sp, dt, "store", pc)
        v = get(wave, lanes)
        if len(parts) == 1 and parts[0][2] is None:
            view, idx, _ = parts[0]
            view[idx] = v
            return
        v = np.broadcast_to(v, a.shape)
        for view, idx, pos in parts:
            view[idx] = v[pos]
    return SIMPLE, run


def _atom(ins, ops, pc, fam):
    space = _space(ins)
    op = next(m for m in ins.mods if m in fam.sem)
    t = ins.types[0]
    dt, sc = DTYPE[t], scalar_of(t)
    operands = ins.operands
    has_dst = fam.operands[0] == "d"            # atom returns the old value, red does not
    put = ops.dst(operands[0], t) if has_dst else None
    srcs = operands[1:] if has_dst else operands
    addr = ops.addr(srcs[0])
    gb = ops.src(srcs[1], t)
    gc = ops.src(srcs[2], t) if len(srcs) > 2 else None
    sp = SPACE_IDS.get(space)
    rmw = atomic_rmw(op, sc)

    def run(wave, warps, lanes):
        a, parts = access(wave, lanes, addr, sp, dt, "atomic", pc)
        b = np.broadcast_to(gb(wave, lanes), a.shape)
        c = np.broadcast_to(gc(wave, lanes), a.shape) if gc else None
        wave.stats["atomics"] += a.size
        il = wave.cfg.interlock
        if il is None:
            old = _apply(rmw, parts, a, b, c, dt)
        else:
            with il.atomic(a):
                old = _apply(rmw, parts, a, b, c, dt)
        if put:
            put(wave, lanes, old)
    return SIMPLE, run


def _apply(rmw, parts, a, b, c, dt):
    if len(parts) == 1 and parts[0][2] is None:
        return rmw(parts[0][0], parts[0][1], b, c)
    old = np.empty(a.size, dt)
    for view, idx, pos in parts:
        old[pos] = rmw(view, idx, b[pos], c[pos] if c is not None else None)
    return old


# -- control -----------------------------------------------------------------------------------------
def _bra(ins, ops, pc, fam):
    """A branch.  run returns the pc the whole group moved to when it stayed together (None when
    it split or may have reconverged), so the scheduler can keep the group running."""
    target = ops.label(ins.operands[0])
    code = ops.code
    rpcs = set(code.reconv.values())
    if ins.guard is None:
        pops = target in rpcs

        def run(wave, warps, lanes):
            wave.simt.pc[warps] = target
            if pops:
                wave.simt.settle()
                return None
            return target
        return CONTROL, run
    r = code.reconv.get(pc, EXIT)
    r = r if 0 <= r <= len(code.instrs) else EXIT
    pv, neg = ops.predicate(ins.guard), ins.guard_neg
    may_pop = target in rpcs or pc + 1 in rpcs

    def run(wave, warps, lanes):
        p = wave.regs[pv][wave.warp_lanes(warps)]
        taken = lanes_to_masks(~p if neg else p)
        simt = wave.simt
        ndiv = simt.branch(warps, taken, target, pc + 1, r, may_pop)
        if ndiv:
            wave.pc_counts[DIVERGENT, pc] += ndiv
            return None
        if may_pop:
            return None
        first = int(simt.pc[warps[0]])
        return first if (simt.pc[warps] == first).all() else None
    return CONTROL, run


def _exit(ins, ops, pc, fam):
    pv, neg = (ops.predicate(ins.guard), ins.guard_neg) if ins.guard is not None else (None, False)

    def run(wave, warps, lanes):
        simt = wave.simt
        m = simt.mask[warps]
        if pv is not None:
            p = wave.regs[pv][wave.warp_lanes(warps)]
            leave = m & lanes_to_masks(~p if neg else p)
            simt.pc[warps[(m & ~leave) != 0]] += 1        # warps with lanes that stay
            m = leave
        wave.exit(warps, m)
    return CONTROL, run


def _trap(ins, ops, pc, fam):
    def run(wave, warps, lanes):
        raise Trap("the kernel executed trap", lane=int(wave.lane_ids(lanes)[0]))
    return SIMPLE, run


def _membar(ins, ops, pc, fam):
    if "cta" in ins.mods:                       # the block runs in one process
        return SIMPLE, lambda wave, warps, lanes: None

    def run(wave, warps, lanes):
        if wave.cfg.interlock is not None:
            wave.cfg.interlock.fence()
    return SIMPLE, run


def _bar(ins, ops, pc, fam):
    red = None
    if fam.sem:                                 # bar.red: reduce a predicate over the block
        red = (next(m for m in ins.mods if m in fam.sem), ops.dst(ins.operands[0], ins.types[0]),
               ops.src(ins.operands[2], "pred"))
    scope = fam.scope
    return CONTROL, lambda wave, warps, lanes: wave.barriers.arrive(warps, lanes, pc, scope, red)


# -- warp-level --------------------------------------------------------------------------------------
def _shfl(ins, ops, pc, fam):
    mode = next(m for m in ins.mods if m in fam.slots[-1].choices)
    operands = ins.operands
    put = ops.dst(operands[0], "b32")
    ga, gb, gc = ops.src(operands[1], "b32"), ops.src(operands[2], "u32"), ops.src(operands[3], "u32")
    gm = ops.src(operands[4], "u32")
    lane = np.arange(32, dtype=np.int64)

    def run(wave, warps, lanes, act):
        wl = wave.warp_lanes(warps)
        n = warps.size
        a = np.broadcast_to(ga(wave, wl), (n * 32,)).reshape(n, 32)
        b = np.broadcast_to(gb(wave, wl), (n * 32,)).reshape(n, 32).astype(np.int64) & 31   # PTX: b[4:0]
        c = np.broadcast_to(gc(wave, wl), (n * 32,)).reshape(n, 32).astype(np.int64)
        seg, cval = (c >> 8) & 31, c & 31
        lo = lane & seg
        hi = lo | (cval & ~seg)
        if mode == "up":
            j = lane - b
            ok = j >= hi
        elif mode == "down":
            j = lane + b
            ok = j <= hi
        elif mode == "bfly":
            j = lane ^ b
            ok = j <= hi
        else:
            j = lo | (b & ~seg)
            ok = j <= hi
        j = np.where(ok, j, lane)
        put(wave, lanes, np.take_along_axis(a, j, axis=1).ravel()[act])
    return WARP_SYNC, (run, gm)


def _vote(ins, ops, pc, fam):
    mode = next(m for m in ins.mods if m in fam.sem)
    operands = ins.operands
    put = ops.dst(operands[0], ins.types[0])
    gp, gm = ops.src(operands[1], "pred"), ops.src(operands[2], "u32")

    def run(wave, warps, lanes, act):
        wl = wave.warp_lanes(warps)
        p = np.broadcast_to(gp(wave, wl), (warps.size * 32,))
        member = wave.barriers.sync_mask     # per warp: the member mask (all of it converged here)
        bits = lanes_to_masks(p) & member
        if mode == "ballot":
            val = bits
        elif mode == "all":
            val = bits == member
        elif mode == "any":
            val = bits != 0
        else:
            val = (bits == member) | (bits == 0)
        put(wave, lanes, np.repeat(val, 32)[act])
    return WARP_SYNC, (run, gm)


def _warp_sync(ins, ops, pc, fam):
    return WARP_SYNC, (lambda wave, warps, lanes, act: None, ops.src(ins.operands[0], "u32"))


def _activemask(ins, ops, pc, fam):
    put = ops.dst(ins.operands[0], "b32")

    def run(wave, warps, lanes):
        m = wave.simt.mask[warps]
        put(wave, lanes, np.repeat(m, 32)[masks_to_lanes(m)])
    return SIMPLE, run


# -- printf ------------------------------------------------------------------------------------------
_PRINTF_TYPE = {"%r": "u32", "%rd": "u64", "%rs": "u16", "%f": "f32", "%fd": "f64", "%p": "pred"}


def _printf(ins, ops, pc, fam):
    fmt_sym = ins.operands[0]
    sym = ops.program.symbols.get(getattr(fmt_sym, "name", None))
    if sym is None or sym.init is None:
        raise Unsupported(f"printf format {fmt_sym} is not an initialised .const symbol")
    fmt = sym.init.split(b"\0", 1)[0]
    args = []
    for o in ins.operands[1:]:
        t = _PRINTF_TYPE.get(reg_class(o.name)) if isinstance(o, Reg) else None
        if isinstance(o, Imm):
            t = "f64" if isinstance(o.value, float) else "u64"
        if t is None:
            raise Unsupported(f"printf argument {o} is not a register")
        args.append((ops.src(o, t), t))

    def run(wave, warps, lanes):
        vals = [(np.broadcast_to(f(wave, lanes), (wave.nactive,)), t) for f, t in args]
        for k, lane in enumerate(wave.lane_ids(lanes)):
            text = format_c(fmt, [(v[k].item(), t) for v, t in vals], wave.read_cstring)
            wave.printf(int(lane), text)
    return SIMPLE, run


BUILDERS = {"move": _mov, "load": _ld, "store": _st, "atomic": _atom, "branch": _bra, "exit": _exit,
            "trap": _trap, "fence": _membar, "barrier": _bar, "shuffle": _shfl, "vote": _vote,
            "warp_sync": _warp_sync, "activemask": _activemask, "printf": _printf}
assert set(BUILDERS) == set(spec.MACHINE), "a machine operation of the ISA table without a builder"
