"""Instruction semantics: the dispatch from `vgpu.isa.spec` rows to closures over numpy arrays.

In:  one `Instr`, its row in the ISA table (`spec.family`), and the kernel's `Decoder`.
Out: `(kind, run, warp_sync)` for `decode.Op`: run(w, g, lanes) executes the instruction for the
     active `lanes` (a slice or index array over the wave's lanes) of warps `g` of wave `w`.

Every ALU, compare, convert and math instruction calls `vgpu.arith` (`resolve`d once) with the op named by
the row (`spec.semantics`), so the simulator and the constant folder cannot disagree.  What lives
here is what only a machine has: moves, memory, atomics, branches, exits, barriers, warp-level
operations and printf.  In one process every access of a wave executes in order, so a fence has
nothing to do; with SM worker processes (`pool`), global atomics hold the address's stripe lock and
membar.gl/.sys is a full memory barrier (`cfg.interlock`; see docs/workers.md).
"""
from __future__ import annotations

from contextlib import nullcontext

import numpy as np

from .. import arith
from ..isa import spec
from ..isa.program import Imm, Reg
from ..types import U32
from .counters import DIVERGENT, count_access
from .decode import DTYPE, Decoder, reg_class, scalar_of
from .faults import Trap, Unsupported
from .memory import SPACE_IDS
from .printf import format_c
from .warp import EXIT, lanes_to_masks, masks_to_lanes


def build(ins, d: Decoder, pc: int):
    fam = spec.family(ins)
    if fam is None:
        raise Unsupported(f"unknown instruction '{ins.mnemonic}'")
    builder = _BUILDERS.get(fam.name)
    if builder is not None:
        return builder(ins, d, pc, fam)
    if fam.sem:
        return "simple", _alu(ins, d, fam), False
    raise Unsupported(f"the simulator has no semantics for '{ins.mnemonic}'")


# -- ALU ---------------------------------------------------------------------------------------------
_SRC_TYPE = {"s": lambda ts: ts[0], "sw": lambda ts: spec.wide(ts[0]), "sc": lambda ts: ts[1],
             "sp": lambda ts: "pred", "su": lambda ts: "u32"}
_DST_TYPE = {"d": lambda ts: ts[0], "dw": lambda ts: spec.wide(ts[0]), "du": lambda ts: "u32",
             "dp": lambda ts: "pred"}


def _alu(ins, d: Decoder, fam):
    kinds = fam.operand_kinds(ins.mods)
    types = ins.types
    op = spec.semantics(ins)
    dkind = kinds[0]
    put = d.dst(ins.operands[0], _DST_TYPE[dkind](types))
    gets = [d.src(o, _SRC_TYPE[k](types)) for o, k in zip(ins.operands[1:], kinds[1:])]
    t0 = scalar_of(types[0])
    src, mode = None, None
    if fam.name == "cvt":
        t, src, mode = t0, scalar_of(types[1]), ".".join(ins.mods) or None
    elif dkind == "du":
        t, src = (U32, t0) if op != "brev" else (t0, None)
    elif dkind == "dw":
        t = scalar_of(spec.wide(types[0]))
    else:
        t = t0
    if fam.name == "selp":                      # selp d, a, b, p  ->  select(p, a, b)
        op, gets = "select", [gets[2], gets[0], gets[1]]
    if all(isinstance(o, Imm) for o in ins.operands[1:]):      # constant operands only: evaluate handles 0-d
        return lambda w, g, lanes: put(w, lanes, arith.evaluate(op, t, [f(w, lanes) for f in gets], src, mode))
    f = arith.resolve(op, t, src, mode)         # looked up once; the wave runs under np.errstate(all="ignore")
    if len(gets) == 1:
        g0, = gets
        return lambda w, g, lanes: put(w, lanes, f((g0(w, lanes),)))
    if len(gets) == 2:
        g0, g1 = gets
        return lambda w, g, lanes: put(w, lanes, f((g0(w, lanes), g1(w, lanes))))
    if len(gets) == 3:
        g0, g1, g2 = gets
        return lambda w, g, lanes: put(w, lanes, f((g0(w, lanes), g1(w, lanes), g2(w, lanes))))
    return lambda w, g, lanes: put(w, lanes, f([h(w, lanes) for h in gets]))


def _mov(ins, d, pc, fam):
    t = ins.types[0]
    put, get = d.dst(ins.operands[0], t), d.src(ins.operands[1], t)
    return "simple", lambda w, g, lanes: put(w, lanes, get(w, lanes)), False


# -- memory ------------------------------------------------------------------------------------------
def _space(ins):
    for m in ins.mods:
        if m in spec.SPACES:
            return m
    return None


def _access(w, lanes, addr, sp, dt, access: str, pc: int):
    """The addresses `lanes` access and their (view, index, positions) parts (`WaveMemory.locate`),
    counted for the memory counters."""
    a = addr(w, lanes)
    ids = w.lane_ids(lanes)
    parts = w.mem.locate(sp, dt, a, ids, access)
    if w.counting:
        count_access(w.pcrows, pc, sp, a, ids, dt.itemsize)
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


def _ld(ins, d, pc, fam):
    space, t = _space(ins), ins.types[0]
    dt = DTYPE[t]
    put = d.dst(ins.operands[0], t)
    m = ins.operands[1]
    if space == "param":
        name = getattr(m.base, "name", None)
        if name not in d.param_layout:
            raise Unsupported(f"'{name}' is not a parameter of kernel '{d.code.name}'")
        off = d.param_layout[name][0] + m.offset
        return "simple", lambda w, g, lanes: put(w, lanes, np.frombuffer(w.params, dt, 1, off)[0]), False
    addr, sp = d.addr(m), SPACE_IDS.get(space)

    def run(w, g, lanes):
        a, parts = _access(w, lanes, addr, sp, dt, "load", pc)
        put(w, lanes, _gather(parts, a.size, dt))
    return "simple", run, False


def _st(ins, d, pc, fam):
    space, t = _space(ins), ins.types[0]
    dt = DTYPE[t]
    addr, get, sp = d.addr(ins.operands[0]), d.src(ins.operands[1], t), SPACE_IDS.get(space)

    def run(w, g, lanes):
        a, parts = _access(w, lanes, addr, sp, dt, "store", pc)
        v = get(w, lanes)
        if len(parts) == 1 and parts[0][2] is None:
            view, idx, _ = parts[0]
            view[idx] = v
            return
        v = np.broadcast_to(v, a.shape)
        for view, idx, pos in parts:
            view[idx] = v[pos]
    return "simple", run, False


# -- atomics -----------------------------------------------------------------------------------------
_UNLOCKED = nullcontext()
_TINY = {np.dtype(np.float32): np.float32(np.finfo(np.float32).tiny)}


def _ftz(x):
    """f32 atomic add flushes subnormal inputs and results to sign-preserving zero (PTX atom)."""
    tiny = _TINY.get(x.dtype)
    if tiny is None:
        return x
    return np.where(np.abs(x) < tiny, np.copysign(np.zeros_like(x), x), x)


def _combine(op, t, o, b, c):
    """The value an atomic leaves in memory given the old value o."""
    if op == "add":
        if t.is_float:
            return _ftz(arith.evaluate("add", t, (_ftz(o), _ftz(b))))
        return o + b
    if op == "exch":
        return np.broadcast_to(b, o.shape)
    if op == "cas":
        return np.where(o == b, c, o)
    if op == "inc":
        return np.where(o >= b, 0, o + 1).astype(o.dtype)
    if op == "dec":
        return np.where((o == 0) | (o > b), b, o - 1).astype(o.dtype)
    return _ASSOC[op](o, b)


_ASSOC = {"min": np.minimum, "max": np.maximum, "and": np.bitwise_and, "or": np.bitwise_or,
          "xor": np.bitwise_xor, "add": np.add}


def atomic(op: str, t, view: np.ndarray, idx: np.ndarray, b: np.ndarray, c) -> np.ndarray:
    """Apply atomic `op` of lanes (in order) at elements `idx` of `view`; return the old values.
    Lanes hitting the same element are serialised in lane order."""
    n = idx.size
    order = np.argsort(idx, kind="stable")
    s = idx[order]
    dup = s[1:] == s[:-1]
    if not dup.any():
        old = view[idx]
        view[idx] = _combine(op, t, old, b, c)
        return old
    first = np.r_[True, ~dup]
    starts = np.flatnonzero(first)
    seg = np.cumsum(first) - 1
    rank = np.arange(n) - starts[seg]
    ends = np.r_[starts[1:], n] - 1
    where = s[starts]                       # one element per segment
    old_sorted = np.empty(n, view.dtype)
    bs = b[order]
    if op == "exch":
        old_sorted[1:] = bs[:-1]
        old_sorted[starts] = view[where]
        view[where] = bs[ends]
    elif op in _ASSOC and not (op == "add" and t.is_float):
        f = _ASSOC[op]
        x = bs.copy()
        x[starts] = f(view[where], x[starts])
        step = 1
        longest = int((ends - starts).max()) + 1
        while step < longest:               # segmented inclusive scan (Hillis-Steele)
            same = seg[step:] == seg[:-step]
            x[step:] = np.where(same, f(x[:-step], x[step:]), x[step:])
            step *= 2
        old_sorted[1:] = x[:-1]
        old_sorted[starts] = view[where]
        view[where] = x[ends]
    elif op == "add" and len(starts) < int(rank.max()) + 1:     # few hot addresses: accumulate each
        for k in range(len(starts)):
            lo, hi = starts[k], ends[k] + 1
            acc = np.add.accumulate(_ftz(np.r_[view[where[k]:where[k] + 1], bs[lo:hi]]), dtype=view.dtype)
            acc = _ftz(acc)
            old_sorted[lo:hi] = acc[:-1]
            view[where[k]] = acc[-1]
    else:                                   # one round per rank: distinct addresses in each
        cs = np.broadcast_to(c, (n,))[order] if c is not None else None
        for r in range(int(rank.max()) + 1):
            pos = np.flatnonzero(rank == r)
            o = view[s[pos]]
            old_sorted[pos] = o
            view[s[pos]] = _combine(op, t, o, bs[pos], cs[pos] if cs is not None else None)
    old = np.empty(n, view.dtype)
    old[order] = old_sorted
    return old


def _atom(ins, d, pc, fam):
    space = _space(ins)
    op = next(m for m in ins.mods if m in fam.sem)
    t = ins.types[0]
    dt, sc = DTYPE[t], scalar_of(t)
    ops = ins.operands
    has_dst = fam.name == "atom"
    put = d.dst(ops[0], t) if has_dst else None
    srcs = ops[1:] if has_dst else ops
    addr = d.addr(srcs[0])
    gb = d.src(srcs[1], t)
    gc = d.src(srcs[2], t) if op == "cas" else None
    sp = SPACE_IDS.get(space)

    def run(w, g, lanes):
        a, parts = _access(w, lanes, addr, sp, dt, "atomic", pc)
        b = np.broadcast_to(gb(w, lanes), a.shape)
        c = np.broadcast_to(gc(w, lanes), a.shape) if gc else None
        w.stats["atomics"] += a.size
        il = w.cfg.interlock
        with il.atomic(a) if il is not None else _UNLOCKED:
            if len(parts) == 1 and parts[0][2] is None:
                old = atomic(op, sc, parts[0][0], parts[0][1], b, c)
            else:
                old = np.empty(a.size, dt)
                for view, idx, pos in parts:
                    old[pos] = atomic(op, sc, view, idx, b[pos], c[pos] if c is not None else None)
        if put:
            put(w, lanes, old)
    return "simple", run, False


# -- control -----------------------------------------------------------------------------------------
def _bra(ins, d, pc, fam):
    """A branch.  run returns the pc the whole group moved to when it stayed together (None when
    it split or may have reconverged), so the scheduler can keep the group running."""
    target = d.label(ins.operands[0])
    rpcs = set(d.code.reconv.values())
    if ins.guard is None:
        pops = target in rpcs

        def run(w, g, lanes):
            w.st.pc[g] = target
            if pops:
                w.st.settle()
                return None
            return target
        return "ctrl", run, False
    r = d.code.reconv.get(pc, EXIT)
    r = r if 0 <= r <= len(d.code.instrs) else EXIT
    pv, neg = d.vid(ins.guard, np.dtype(bool)), ins.guard_neg
    may_pop = target in rpcs or pc + 1 in rpcs

    def run(w, g, lanes):
        p = w.V[pv][w.warp_lanes(g)]
        taken = lanes_to_masks(~p if neg else p)
        st = w.st
        ndiv = st.branch(g, taken, target, pc + 1, r, may_pop)
        if ndiv:
            w.pcrows[DIVERGENT, pc] += ndiv
            return None
        if may_pop:
            return None
        first = int(st.pc[g[0]])
        return first if (st.pc[g] == first).all() else None
    return "ctrl", run, False


def _exit(ins, d, pc, fam):
    pv, neg = (d.vid(ins.guard, np.dtype(bool)), ins.guard_neg) if ins.guard is not None else (None, False)

    def run(w, g, lanes):
        st = w.st
        m = st.mask[g]
        if pv is not None:
            p = w.V[pv][w.warp_lanes(g)]
            leave = m & lanes_to_masks(~p if neg else p)
            st.pc[g[(m & ~leave) != 0]] += 1        # warps with lanes that stay
            m = leave
        w.exit(g, m)
    return "ctrl", run, False


def _trap(ins, d, pc, fam):
    def run(w, g, lanes):
        raise Trap("the kernel executed trap", lane=int(w.lane_ids(lanes)[0]))
    return "simple", run, False


def _nop(ins, d, pc, fam):
    return "simple", lambda w, g, lanes: None, False


def _membar(ins, d, pc, fam):
    if "cta" in ins.mods:                       # the block runs in one process
        return _nop(ins, d, pc, fam)

    def run(w, g, lanes):
        if w.cfg.interlock is not None:
            w.cfg.interlock.fence()
    return "simple", run, False


def _bar(ins, d, pc, fam):
    kind = "grid" if fam.name == "grid.sync" else "block"
    red = None
    if fam.name == "bar.red":
        red = (next(m for m in ins.mods if m in fam.sem), d.dst(ins.operands[0], ins.types[0]),
               d.src(ins.operands[2], "pred"))
    return "ctrl", lambda w, g, lanes: w.barrier_arrive(g, lanes, pc, kind, red), False


# -- warp-level --------------------------------------------------------------------------------------
def _shfl(ins, d, pc, fam):
    mode = next(m for m in ins.mods if m in ("idx", "up", "down", "bfly"))
    ops = ins.operands
    put = d.dst(ops[0], "b32")
    ga, gb, gc, gm = d.src(ops[1], "b32"), d.src(ops[2], "u32"), d.src(ops[3], "u32"), d.src(ops[4], "u32")
    lane = np.arange(32, dtype=np.int64)

    def run(w, g, lanes, act):
        wl = w.warp_lanes(g)
        n = g.size
        a = np.broadcast_to(ga(w, wl), (n * 32,)).reshape(n, 32)
        b = np.broadcast_to(gb(w, wl), (n * 32,)).reshape(n, 32).astype(np.int64) & 31   # PTX: b[4:0]
        c = np.broadcast_to(gc(w, wl), (n * 32,)).reshape(n, 32).astype(np.int64)
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
        put(w, lanes, np.take_along_axis(a, j, axis=1).ravel()[act])
    return "ctrl", (run, gm), True


def _vote(ins, d, pc, fam):
    mode = next(m for m in ins.mods if m in fam.sem)
    ops = ins.operands
    put = d.dst(ops[0], ins.types[0])
    gp, gm = d.src(ops[1], "pred"), d.src(ops[2], "u32")

    def run(w, g, lanes, act):
        wl = w.warp_lanes(g)
        p = np.broadcast_to(gp(w, wl), (g.size * 32,))
        member = w.sync_mask                  # per warp: the member mask (all of it converged here)
        bits = lanes_to_masks(p) & member
        if mode == "ballot":
            val = bits
        elif mode == "all":
            val = bits == member
        elif mode == "any":
            val = bits != 0
        else:
            val = (bits == member) | (bits == 0)
        per_lane = np.repeat(val, 32)
        put(w, lanes, per_lane[act])
    return "ctrl", (run, gm), True


def _warp_sync(ins, d, pc, fam):
    gm = d.src(ins.operands[0], "u32")
    return "ctrl", (lambda w, g, lanes, act: None, gm), True


def _activemask(ins, d, pc, fam):
    put = d.dst(ins.operands[0], "b32")

    def run(w, g, lanes):
        m = w.st.mask[g]
        put(w, lanes, np.repeat(m, 32)[masks_to_lanes(m)])
    return "simple", run, False


# -- printf ------------------------------------------------------------------------------------------
_PRINTF_TYPE = {"%r": "u32", "%rd": "u64", "%rs": "u16", "%f": "f32", "%fd": "f64", "%p": "pred"}


def _printf(ins, d, pc, fam):
    fmt_sym = ins.operands[0]
    sym = d.program.symbols.get(getattr(fmt_sym, "name", None))
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
        args.append((d.src(o, t), t))

    def run(w, g, lanes):
        vals = [(np.broadcast_to(f(w, lanes), (w.n,)), t) for f, t in args]
        for k, lane in enumerate(w.lane_ids(lanes)):
            text = format_c(fmt, [(v[k].item(), t) for v, t in vals], w.read_cstring)
            w.printf(int(lane), text)
    return "simple", run, False


_BUILDERS = {
    "mov": _mov, "ld": _ld, "st": _st, "atom": _atom, "red": _atom,
    "bra": _bra, "ret": _exit, "exit": _exit, "trap": _trap, "membar": _membar,
    "bar.sync": _bar, "bar.red": _bar, "grid.sync": _bar,
    "shfl.sync": _shfl, "vote.sync": _vote, "bar.warp.sync": _warp_sync, "activemask": _activemask,
    "printf": _printf,
}
