"""The chunk loop in LLVM IR: `i64 chunks(i64* desc, i64 t, i64 once)` runs chunks of a launch.

In:  the module holding the kernel's `run` (driver.py) and the kind (op, numpy dtype) of its
     privatizable atomics (threads.Atomics; None: none).
Out: `add_chunks(module, run_fn, kind)`: `chunks` and, for a kind, `void fold(i64* ctx)` (below).
     Thread t of a launch clears its counts (as `runtime._Native.clear`), starts its undo log
     empty with the descriptor's room and marks its atomics as done among threads (ctx[C_MT],
     until it returns); then it takes chunk after chunk from the descriptor's shared counter (an
     atomic add) with its own ctx and warp state until none is left, adds its counts to the
     launch's total (`D_TOTAL`: the counts words, then waves, barriers and atomics; atomic adds)
     and returns 0.  The launching thread, which goes back to Python now and then so that Ctrl-C
     stops a long launch, does the first work in a call with `once` = BEGIN, the last in one with
     END, and its chunks in calls with `once` a deadline: each returns 1 after the first chunk that
     ends past it (CLOCK_MONOTONIC nanoseconds; without a clock, after every chunk), 0 when none
     is left.
     For each chunk it resets the ctx words a run starts from, runs the chunk's blocks (`run`), and
     - on a bail-out: records the chunk (`D_FAILED[t]`), raises the stop flag and returns (the
       caller undoes it from the thread's undo log, `D_LOGR`, once every thread has stopped);
     - else: folds the thread's privatized copy into global memory (atomic read-modify-writes, so
       threads folding at once lose nothing) and resets it, adds the chunk's waves to ctx, and in
       split launches (chunks are parts of waves) moves its counts to the chunk's slot, so that a
       wave with a part that bailed out can be dropped whole; then marks the chunk done (`D_DONE`:
       its rank among the finished chunks, from 1; `D_SEQ`: how many finished; `D_BLOCKS_DONE`: their
       blocks), notes its thread
       (`D_THREAD`) and, when a clock is given, adds its nanoseconds to the thread's (`D_TIME`).
No Python runs between chunks, so chunks can be small and threads never wait for the GIL.
The descriptor (int64 words, filled by threads.run_chunks) and the chunk rows are described below.
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir

from .alu import I1, I8, I32, I64
from .codegen import (C_ARENA, C_ATOMICS, C_CHI, C_CLO, C_GHI, C_GLO, C_LOGCAP, C_LOGN, C_MT, C_PRIV_BUF, C_PRIV_HI,
                      C_PRIV_LO, C_RLOGCAP, C_RLOGN)
from .codegen import loop
from .driver import C_BARRIERS, C_KEEP_BYTES, C_KEEP_FROM, C_WAVES
from .layout import GLOBAL_BASE

# descriptor words; NEXT and SEQ, written by every thread, on cache lines of their own
(D_BLOCKS, D_CHUNKS, D_NCHUNKS, D_SPLIT, D_WPB, D_SMID, D_WBASE, D_CTX, D_WS, D_FAILED, D_SLOTS,
 D_SLOT_WORDS, D_CWORDS, D_LOGR, D_DONE, D_TIME, D_CLOCK, D_CLOCK_ID, D_THREAD, D_SELF, D_LOGCAP,
 D_RLOGCAP, D_TOTAL) = range(23)
D_STOP = 24
D_NEXT = 32
D_SEQ, D_BLOCKS_DONE = 40, 41
D_WORDS = 48
BEGIN, END = -2, -1  # `once` for the launching thread's first and last calls (see above)
ROW = 5           # a chunk row: first block index, blocks, blocks per watchdog period, budget, waves
LOGR = 4          # per chunk: the thread's undo-log entries and records before and after its run


def c64(v):
    return ir.Constant(I64, v)


def add_chunks(module: ir.Module, run_fn: ir.Function, kind) -> ir.Function:
    """chunks(desc, t, once): see the module docstring."""
    P = I64.as_pointer()
    fn = ir.Function(module, ir.FunctionType(I64, [P, I64, I64]), name="chunks")
    desc, t, once = fn.args
    b = ir.IRBuilder(fn.append_basic_block("e"))
    i8p = I8.as_pointer()

    def dw(k):
        return b.load(b.gep(desc, [c64(k)]))

    def ptr(k):
        return b.inttoptr(dw(k), P)

    ctx = b.inttoptr(b.load(b.gep(ptr(D_CTX), [t])), P)
    ws = b.inttoptr(b.load(b.gep(ptr(D_WS), [t])), P)
    blocks, rows, logr, done = ptr(D_BLOCKS), ptr(D_CHUNKS), ptr(D_LOGR), ptr(D_DONE)
    smid, wbase, slots, busy, who = ptr(D_SMID), ptr(D_WBASE), ptr(D_SLOTS), ptr(D_TIME), ptr(D_THREAD)
    nchunks, split, wpb = dw(D_NCHUNKS), dw(D_SPLIT), dw(D_WPB)
    slot_words, cwords = dw(D_SLOT_WORDS), dw(D_CWORDS)
    clock_addr, clock_id = dw(D_CLOCK), dw(D_CLOCK_ID)
    is_split = b.icmp_signed("!=", split, c64(0))
    timed = b.icmp_signed("!=", clock_addr, c64(0))
    ts = b.alloca(ir.ArrayType(I64, 2))
    clock_ty = ir.FunctionType(I32, [I32, i8p])
    word = lambda k: b.gep(ctx, [c64(k)])             # noqa: E731
    memcpy, memset = module.globals["llvm.memcpy.p0i8.p0i8.i64"], module.globals["llvm.memset.p0i8.i64"]
    counts = b.inttoptr(b.load(word(C_KEEP_FROM)), i8p)
    whole_run = b.icmp_signed("==", once, c64(0))
    is_begin, is_end = b.icmp_signed("==", once, c64(BEGIN)), b.icmp_signed("==", once, c64(END))
    init, start, check_end = (fn.append_basic_block(x) for x in ("init", "start", "check_end"))
    head, body, out = (fn.append_basic_block(x) for x in ("head", "body", "out"))
    fin, end = fn.append_basic_block("fin"), fn.append_basic_block("end")
    b.cbranch(b.or_(whole_run, is_begin), init, check_end)
    b.position_at_end(check_end)
    b.cbranch(is_end, fin, start)
    b.position_at_end(init)
    b.call(memset, [counts, ir.Constant(I8, 0), b.load(word(C_KEEP_BYTES)), ir.Constant(I1, 0)])
    for k, v in ((C_WAVES, c64(0)), (C_BARRIERS, c64(0)), (C_ATOMICS, c64(0)), (C_MT, c64(1)), (C_LOGN, c64(0)),
                 (C_RLOGN, c64(0)), (C_LOGCAP, dw(D_LOGCAP)), (C_RLOGCAP, dw(D_RLOGCAP))):
        b.store(v, word(k))
    b.cbranch(is_begin, end, start)
    b.position_at_end(start)

    def now():
        """Nanoseconds of clock_gettime(D_CLOCK_ID) (0 without a clock)."""
        yes, no, join = (fn.append_basic_block(x) for x in ("clk", "noclk", "clkj"))
        b.cbranch(timed, yes, no)
        b.position_at_end(yes)
        clock = b.inttoptr(clock_addr, clock_ty.as_pointer())
        b.call(clock, [b.trunc(clock_id, I32), b.bitcast(ts, i8p)])
        sec = b.load(b.gep(ts, [c64(0), ir.Constant(I32, 0)]))
        nsec = b.load(b.gep(ts, [c64(0), ir.Constant(I32, 1)]))
        v = b.add(b.mul(sec, c64(1_000_000_000)), nsec)
        yb = b.block
        b.branch(join)
        b.position_at_end(no)
        b.branch(join)
        b.position_at_end(join)
        phi = b.phi(I64)
        phi.add_incoming(v, yb)
        phi.add_incoming(c64(0), no)
        return phi

    b.branch(head)
    b.position_at_end(head)
    stop = b.load_atomic(b.gep(desc, [c64(D_STOP)]), "monotonic", 8)
    take = fn.append_basic_block("take")
    b.cbranch(b.icmp_signed("!=", stop, c64(0)), out, take)
    b.position_at_end(take)
    c = b.atomic_rmw("add", b.gep(desc, [c64(D_NEXT)]), c64(1), "monotonic")
    b.cbranch(b.icmp_signed(">=", c, nchunks), out, body)
    b.position_at_end(body)
    row = b.gep(rows, [b.mul(c, c64(ROW))])
    col = lambda k: b.load(b.gep(row, [c64(k)]))       # noqa: E731
    s, n, period, budget, waves = (col(k) for k in range(ROW))
    for k in (C_GLO, C_GHI, C_CLO, C_CHI):
        b.store(c64(0), word(k))
    for k in (C_LOGN, C_RLOGN):                         # split launches keep every part's log (appended)
        b.store(b.select(is_split, b.load(word(k)), c64(0)), word(k))
    lr = b.gep(logr, [b.mul(c, c64(LOGR))])
    b.store(b.load(word(C_LOGN)), lr)
    b.store(b.load(word(C_RLOGN)), b.gep(lr, [c64(2)]))
    t0 = now()
    st = b.call(run_fn, [ctx, ws, b.gep(blocks, [s]), n, wpb, period, budget, b.gep(smid, [s]), b.gep(wbase, [s])])
    b.store(b.load(word(C_LOGN)), b.gep(lr, [c64(1)]))
    b.store(b.load(word(C_RLOGN)), b.gep(lr, [c64(3)]))
    bad, ok = fn.append_basic_block("bad"), fn.append_basic_block("ok")
    b.cbranch(b.icmp_signed("!=", st, ir.Constant(I32, 0)), bad, ok)
    b.position_at_end(bad)
    b.store(b.add(c, c64(1)), b.gep(ptr(D_FAILED), [t]))
    b.store_atomic(c64(1), b.gep(desc, [c64(D_STOP)]), "seq_cst", 8)
    b.branch(out)
    b.position_at_end(ok)
    if kind is not None:
        b.call(_fold(module, kind), [ctx])
    wv = word(C_WAVES)
    b.store(b.add(b.load(wv), waves), wv)
    sp, nosp = fn.append_basic_block("split"), fn.append_basic_block("whole")
    b.cbranch(is_split, sp, nosp)
    b.position_at_end(sp)                                # the part's counts to its slot, zeroed here
    slot = b.gep(slots, [b.mul(c, slot_words)])
    nbytes = b.mul(cwords, c64(8))
    b.call(memcpy, [b.bitcast(slot, i8p), counts, nbytes, ir.Constant(I1, 0)])
    b.call(memset, [counts, ir.Constant(I8, 0), nbytes, ir.Constant(I1, 0)])
    for i, k in enumerate((C_WAVES, C_BARRIERS, C_ATOMICS)):
        b.store(b.load(word(k)), b.gep(slot, [b.add(cwords, c64(i))]))
        b.store(c64(0), word(k))
    b.branch(nosp)
    b.position_at_end(nosp)
    t1 = now()
    mine_ns = b.gep(busy, [t])
    b.store(b.add(b.load(mine_ns), b.sub(t1, t0)), mine_ns)
    b.store(t, b.gep(who, [c]))
    seq = b.atomic_rmw("add", b.gep(desc, [c64(D_SEQ)]), c64(1), "monotonic")
    b.atomic_rmw("add", b.gep(desc, [c64(D_BLOCKS_DONE)]), n, "monotonic")
    b.store(b.add(seq, c64(1)), b.gep(done, [c]))
    one, back = fn.append_basic_block("one"), fn.append_basic_block("back")
    b.cbranch(whole_run, head, one)
    b.position_at_end(one)                               # the launching thread: back to Python once the
    late = b.or_(b.not_(timed), b.icmp_signed(">=", t1, once))     # deadline `once` has passed
    b.cbranch(late, back, head)
    b.position_at_end(back)
    b.ret(c64(1))
    b.position_at_end(out)
    b.cbranch(whole_run, fin, end)
    b.position_at_end(fin)                               # this thread's counts into the launch's total
    b.store(c64(0), word(C_MT))
    total = ptr(D_TOTAL)
    _fold_into(b, total, b.bitcast(counts, P), cwords, "add", c64(0), reset=False)
    for j, k in enumerate((C_WAVES, C_BARRIERS, C_ATOMICS)):
        b.atomic_rmw("add", b.gep(total, [b.add(cwords, c64(j))]), b.load(word(k)), "monotonic")
    b.branch(end)
    b.position_at_end(end)
    b.ret(c64(0))
    return fn


def _fold_into(b: ir.IRBuilder, dst, src, count, op: str, ident, reset: bool) -> None:
    """for i in range(count): dst[i] op= src[i] (an atomic read-modify-write) where src[i] is not the
    op's identity, which it is set back to if `reset`."""
    def one(b, i):
        v = b.load(b.gep(src, [i]))
        with b.if_then(b.icmp_unsigned("!=", v, ident)):
            b.atomic_rmw(op, b.gep(dst, [i]), v, "monotonic")
            if reset:
                b.store(ident, b.gep(src, [i]))
    loop(b, count, "fold", one)


def identity(kind) -> np.ndarray:
    """The value a privatized copy starts from: op(identity, x) == x."""
    op, dt = kind
    if op in ("add", "or", "xor"):
        return np.zeros((), dt)
    if op == "and":
        return np.array(-1).astype(dt)
    info = np.iinfo(dt)
    return np.array(info.max if op == "min" else info.min, dt)


def _fold(module: ir.Module, kind) -> ir.Function:
    """`void fold(i64* ctx)`: if this thread privatizes an allocation (ctx[C_PRIV_BUF] != 0), fold
    its copy into global memory element by element (atomically; the op's identity skipped) and
    reset the copy."""
    op, dt = kind
    dt = np.dtype(dt)
    T = ir.IntType(8 * dt.itemsize)
    rmw = {"add": "add", "or": "or", "xor": "xor", "and": "and",
           "min": "min" if dt.kind == "i" else "umin", "max": "max" if dt.kind == "i" else "umax"}[op]
    ident = ir.Constant(T, int(identity(kind).astype(np.int64)) & ((1 << T.width) - 1))
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [I64.as_pointer()]), name="fold")
    (ctx,) = fn.args
    e, yes, after = (fn.append_basic_block(x) for x in ("e", "y", "a"))
    b = ir.IRBuilder(e)
    word = lambda k: b.load(b.gep(ctx, [c64(k)]))      # noqa: E731
    buf = word(C_PRIV_BUF)
    b.cbranch(b.icmp_signed("!=", buf, c64(0)), yes, after)
    b.position_at_end(yes)
    lo, hi = word(C_PRIV_LO), word(C_PRIV_HI)
    mine = b.inttoptr(buf, T.as_pointer())
    whole = b.inttoptr(b.add(word(C_ARENA), b.sub(lo, c64(GLOBAL_BASE))), T.as_pointer())
    _fold_into(b, whole, mine, b.sdiv(b.sub(hi, lo), c64(dt.itemsize)), rmw, ident, reset=True)
    b.branch(after)
    b.position_at_end(after)
    b.ret_void()
    return fn
