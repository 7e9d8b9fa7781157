"""The block loop in LLVM IR: `i32 run(ctx, ws, blocks, nblocks, ...)` runs blocks one after another.

In:  the module holding the kernel's `warp` function (codegen/instrs).
Out: `add_driver(module, wpb)`: a function that, for each block of the list, sets its coordinates,
     zeroes its shared and local memory, starts its warps at pc 0, then runs every runnable warp until
     it exits or arrives at the barrier and releases the barrier (bar.red's reduction included) while
     warps wait, until the block is done.  Returns 0, or 2 when a warp bails out (ctx says why), with
     ctx[C_BAIL_BLOCK] the index of the block.  Per wave (`wave` blocks) the warp instructions are
     counted against the watchdog budget.  The counts (the per-pc arrays at ctx[C_KEEP_FROM],
     ctx[C_KEEP_BYTES] bytes, and ctx's barriers and atomics) add to what they were; a run that bails
     out puts them back as they were (kept at ctx[C_KEEP]), so that they always hold the successful
     runs' counts.
"""
from __future__ import annotations

from llvmlite import ir

from .alu import I1, I8, I32, I64
from .codegen import loop
from .codegen import (B_BUDGET, C_ATOMICS, C_BAIL_WHY, C_BUDGET, C_CTAID, C_CTAID_Y, C_CTAID_Z, C_LOCAL, C_LPAD, C_NCTAID,
                      C_NCTAID_Y, C_RED_COUNT, C_RED_TOTAL, C_SHARED, C_SHARED_BYTES, C_SMID, C_WARPID, W_ALIVE,
                      W_BARPRED, W_DEPTH, W_ICOUNT, W_MASK, W_PC, W_RPC, W_TOTAL, W_WAIT, W_WIDX, C_STEPS)

# extra ctx words used by the driver
C_ALIVE0_PTR = 40          # == codegen.C_ALIVE0: per warp of a block, the lanes that exist
C_BAIL_BLOCK = 42
C_BARRIERS = 43
C_NWAIT = 44
C_WAVES = 59               # set by the caller: the waves of the runs (counted with their counts)
C_KEEP, C_KEEP_FROM, C_KEEP_BYTES = 60, 61, 62     # where the counts are kept during a run (see above)


def c64(v):
    return ir.Constant(I64, v)


def add_driver(module: ir.Module, warp_fn: ir.Function, ws_words: int) -> ir.Function:
    """run(ctx, ws, blocks, nblocks, wpb, wave, budget, smid, wbase) -> i32."""
    P = I64.as_pointer()
    fn = ir.Function(module, ir.FunctionType(I32, [P, P, P, I64, I64, I64, I64, P, P]), name="run")
    ctx, ws, blocks, nblocks, wpb, wave, budget, smids, wbases = fn.args
    e = fn.append_basic_block("e")
    b = ir.IRBuilder(e)
    word = lambda k: b.gep(ctx, [c64(k)])             # noqa: E731
    left = b.alloca(I64)
    memset = ir.Function(module, ir.FunctionType(ir.VoidType(), [I8.as_pointer(), I8, I64, I1]),
                         name="llvm.memset.p0i8.i64")
    ctpop = module.globals.get("llvm.ctpop.i64") or ir.Function(module, ir.FunctionType(I64, [I64]),
                                                                 name="llvm.ctpop.i64")

    def wsp(b, w, k):
        return b.gep(ws, [b.add(b.mul(w, c64(ws_words)), c64(k))])

    b.store(c64(0), left)
    i8p = I8.as_pointer()
    memcpy = ir.Function(module, ir.FunctionType(ir.VoidType(), [i8p, i8p, I64, I1]),
                         name="llvm.memcpy.p0i8.p0i8.i64")
    counts, kept = (b.inttoptr(b.load(word(k)), i8p) for k in (C_KEEP_FROM, C_KEEP))
    nbytes = b.load(word(C_KEEP_BYTES))
    b.call(memcpy, [kept, counts, nbytes, ir.Constant(I1, 0)])
    scalars = [(k, b.load(word(k))) for k in (C_BARRIERS, C_ATOMICS)]
    alive0 = b.inttoptr(b.load(word(C_ALIVE0_PTR)), P)
    gx, gy = b.load(word(C_NCTAID)), b.load(word(C_NCTAID_Y))
    bailb = fn.append_basic_block("bail")

    def block_body(b, bi):
        newwave = b.icmp_signed("==", b.srem(bi, wave), c64(0))
        b.store(b.select(newwave, budget, b.load(left)), left)
        blk = b.load(b.gep(blocks, [bi]))
        b.store(b.srem(blk, gx), word(C_CTAID))
        b.store(b.srem(b.sdiv(blk, gx), gy), word(C_CTAID_Y))
        b.store(b.sdiv(blk, b.mul(gx, gy)), word(C_CTAID_Z))
        b.store(b.load(b.gep(smids, [bi])), word(C_SMID))
        b.store(b.load(b.gep(wbases, [bi])), word(C_WARPID))
        b.store(bi, word(C_BAIL_BLOCK))
        b.call(memset, [b.inttoptr(b.load(word(C_SHARED)), I8.as_pointer()), ir.Constant(I8, 0),
                        b.load(word(C_SHARED_BYTES)), ir.Constant(I1, 0)])
        b.call(memset, [b.inttoptr(b.load(word(C_LOCAL)), I8.as_pointer()), ir.Constant(I8, 0),
                        b.mul(b.mul(wpb, c64(32)), b.load(word(C_LPAD))), ir.Constant(I1, 0)])

        def init(b, w):
            a0 = b.load(b.gep(alive0, [w]))
            for k, v in ((W_PC, c64(0)), (W_RPC, c64(-1)), (W_MASK, a0), (W_ALIVE, a0), (W_DEPTH, c64(0)),
                         (W_WAIT, c64(0)), (W_WIDX, w), (W_TOTAL, c64(0))):
                b.store(v, wsp(b, w, k))
        loop(b, wpb, "init", init)
        # rounds: run every warp that can run; then release the barrier if anyone waits
        pre = b.block
        rh, rb, ro = (fn.append_basic_block(f"round{x}") for x in ("h", "b", "o"))
        b.branch(rh)
        b.position_at_end(rh)
        b.branch(rb)
        b.position_at_end(rb)
        del pre
        cnt = b.gep(ctx, [c64(C_RED_COUNT)])
        tot = b.gep(ctx, [c64(C_RED_TOTAL)])
        b.store(c64(0), word(C_NWAIT))      # waiting warps this round

        def run_warp(b, w):
            runnable = b.and_(b.icmp_signed("!=", b.load(wsp(b, w, W_MASK)), c64(0)),
                              b.icmp_signed("!=", b.load(wsp(b, w, W_WAIT)), c64(1)))
            go, skip = fn.append_basic_block("go"), fn.append_basic_block("skip")
            b.cbranch(runnable, go, skip)
            b.position_at_end(go)
            own = b.sub(b.load(word(C_STEPS)), b.load(wsp(b, w, W_TOTAL)))   # a warp's own steps bound
            lft = b.load(left)
            b.store(b.select(b.icmp_signed("<", own, lft), own, lft), word(C_BUDGET))
            st = b.call(warp_fn, [ctx, wsp(b, w, 0)])
            ic = b.load(wsp(b, w, W_ICOUNT))
            b.store(b.sub(b.load(left), ic), left)
            tp = wsp(b, w, W_TOTAL)
            b.store(b.add(b.load(tp), ic), tp)
            ok = fn.append_basic_block("ok")
            b.cbranch(b.icmp_signed("==", st, ir.Constant(I32, 2)), bailb, ok)
            b.position_at_end(ok)
            over = fn.append_basic_block("over")
            fine = fn.append_basic_block("fine")
            b.cbranch(b.or_(b.icmp_signed("<", b.load(left), c64(0)),
                            b.icmp_signed(">", b.load(tp), b.load(word(C_STEPS)))), over, fine)
            b.position_at_end(over)
            b.store(c64(B_BUDGET), word(C_BAIL_WHY))
            b.branch(bailb)
            b.position_at_end(fine)
            b.branch(skip)
            b.position_at_end(skip)
        loop(b, wpb, "warps", run_warp)
        # who waits?  count, and the bar.red reduction over the arrived lanes
        b.store(c64(0), cnt)
        b.store(c64(0), tot)
        nw = b.gep(ctx, [c64(C_NWAIT)])

        def tally(b, w):
            waiting = b.icmp_signed("==", b.load(wsp(b, w, W_WAIT)), c64(1))
            alive = b.load(wsp(b, w, W_ALIVE))
            pred = b.and_(b.load(wsp(b, w, W_BARPRED)), alive)
            z = c64(0)
            b.store(b.add(b.load(nw), b.select(waiting, c64(1), z)), nw)
            b.store(b.add(b.load(cnt), b.select(waiting, b.call(ctpop, [pred]), z)), cnt)
            b.store(b.add(b.load(tot), b.select(waiting, b.call(ctpop, [alive]), z)), tot)
        loop(b, wpb, "tally", tally)
        again = b.icmp_signed("!=", b.load(nw), c64(0))
        rel = fn.append_basic_block("release")
        b.cbranch(again, rel, ro)
        b.position_at_end(rel)
        bar = b.gep(ctx, [c64(C_BARRIERS)])
        b.store(b.add(b.load(bar), c64(1)), bar)

        def release(b, w):
            p = wsp(b, w, W_WAIT)
            b.store(b.select(b.icmp_signed("==", b.load(p), c64(1)), c64(2), b.load(p)), p)
        loop(b, wpb, "rel", release)
        b.branch(rb)
        b.position_at_end(ro)

    loop(b, nblocks, "blk", block_body)
    b.ret(ir.Constant(I32, 0))
    b.position_at_end(bailb)
    b.call(memcpy, [counts, kept, nbytes, ir.Constant(I1, 0)])
    for k, v in scalars:
        b.store(v, word(k))
    b.ret(ir.Constant(I32, 2))
    return fn
