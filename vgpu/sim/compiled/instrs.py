"""The body of the generated `warp` function: control flow (the SIMT stack), instruction by instruction.

In:  a `codegen.KernelGen` (operands, registers, the ctx and ws words).
Out: `build_module(program, code, layout) -> ir.Module`.  One basic block per pc; `settle` pops stack
     entries that reached their reconvergence pc (or lost all lanes), `dispatch` jumps to the pc on
     top of the stack.  Memory instructions loop over the active lanes (lowest first) with the
     interpreter's alignment, window and allocation checks; anything that fails bails out (2).
"""
from __future__ import annotations

from llvmlite import ir

from ...isa import spec
from ...types import U32
from . import alu
from .alu import I1, I32, I64, N, vec
from .codegen import loop
from .codegen import (B_BUDGET, B_DIVERGENT_BARRIER, B_STACK, B_TRAP, C_BAIL_PC, C_BAIL_WHY, C_BUDGET, C_DIV,
                      C_OPT, C_OPW, C_RED_COUNT, C_RED_TOTAL, W_ALIVE, W_BARPRED, W_DEPTH, W_ICOUNT, W_MASK, W_PC,
                      W_RPC, W_STACK, W_WAIT, _DST_TYPE, _SRC_TYPE)
from .layout import STACK_DEPTH, scalar_of, segment_local
from .memops import MemGen, c32, c64

# `machine` kinds after which a new basic block starts (control flow, barriers, warp-synchronous ops)
ENDS_BLOCK = ("branch", "exit", "trap", "barrier", "warp_sync", "shuffle", "vote")


def build_module(program, code, lay, counting: bool = False) -> ir.Module:
    """The kernel's module; `counting`: with the memory counters (counting.py)."""
    gen = Gen(program, code, lay)
    gen.counting = counting
    return gen.build()


def leaders(code) -> set[int]:
    """The pcs where control may enter other than from the previous pc (labels, reconvergence points,
    after control flow, barriers and warp-synchronous ops), with 0 and the end."""
    out = {0, len(code.instrs)} | set(code.labels.values()) | set(code.reconv.values())
    for pc, ins in enumerate(code.instrs):
        if spec.family(ins).machine in ENDS_BLOCK:
            out.add(pc + 1)
    return {pc for pc in out if 0 <= pc <= len(code.instrs)}


def heads(code) -> list[int]:
    """Per pc (and the end), the leader of its straight-line segment: every instruction of a segment
    issues with the same mask each time the segment runs, so the native code counts once per segment
    (at its leader) and `opw[heads]` gives the per-pc counts."""
    lead, out = leaders(code), []
    for pc in range(len(code.instrs) + 1):
        out.append(pc if pc in lead else out[-1])
    return out


class Gen(MemGen):
    def build(self) -> ir.Module:
        fn, n = self.fn, self.n
        entry = fn.append_basic_block("entry")
        b = ir.IRBuilder(entry)
        self.pcv, self.rpcv, self.maskv, self.icv = b.alloca(I64), b.alloca(I64), b.alloca(I32), b.alloca(I64)
        self.depv = b.alloca(I64)
        self.sa = b.alloca(ir.ArrayType(I64, N), name="addrs")
        self.sv = b.alloca(ir.ArrayType(I64, N), name="vals")
        self.sa.align = self.sv.align = 64
        self.opw = b.inttoptr(self.cword(b, C_OPW), I64.as_pointer())
        self.opt = b.inttoptr(self.cword(b, C_OPT), I64.as_pointer())
        self.budget = self.cword(b, C_BUDGET)
        b.store(b.load(self.wptr(b, W_PC)), self.pcv)
        b.store(b.load(self.wptr(b, W_RPC)), self.rpcv)
        b.store(b.trunc(b.load(self.wptr(b, W_MASK)), I32), self.maskv)
        b.store(c64(0), self.icv)
        b.store(b.load(self.wptr(b, W_DEPTH)), self.depv)
        self.local = segment_local(self.code, leaders(self.code))
        self.alloc_regs(b)
        self.blk = [fn.append_basic_block(f"pc{pc}") for pc in range(n + 1)]
        self.settle_b, self.dispatch_b = fn.append_basic_block("settle"), fn.append_basic_block("dispatch")
        resume_b, start_b, load_b = (fn.append_basic_block(x) for x in ("resume", "start", "loadregs"))
        waiting = b.icmp_signed("!=", b.load(self.wptr(b, W_WAIT)), c64(0))
        b.cbranch(waiting, load_b, start_b)
        self.init_regs(ir.IRBuilder(start_b), None)         # a warp starting at pc 0: registers zero
        ir.IRBuilder(start_b).branch(self.dispatch_b)
        lb = ir.IRBuilder(load_b)                          # resumed after a barrier: the saved registers
        self.init_regs(lb, True)
        lb.branch(resume_b)
        self.leaders = leaders(self.code)
        self.pop_targets = {}                   # reconvergence pc -> pcs its branches leave on the stack
        for pc, r in self.code.reconv.items():
            ins = self.code.instrs[pc] if 0 <= pc < n else None
            if ins is not None and spec.family(ins).machine == "branch" and 0 <= r <= n:
                t = self.code.labels[ins.operands[0].name]
                self.pop_targets.setdefault(r, set()).update(x for x in (r, t, pc + 1) if 0 <= x <= n)
        self.barriers = []
        self.seglen = {}                        # leader pc -> instructions up to the next leader
        for pc in range(n, -1, -1):
            self.seglen[pc] = 1 + (self.seglen[pc + 1] if pc < n and pc + 1 not in self.leaders else 0)
        for pc, ins in enumerate(self.code.instrs):
            b = ir.IRBuilder(self.blk[pc])
            self.count(b, pc)
            self.instr(b, pc, ins)
        b = ir.IRBuilder(self.blk[n])
        self.count(b, n)
        self.exit(b, n, None)
        self._settle()
        self._dispatch()
        self._resume(resume_b)
        return self.module

    # -- bookkeeping ------------------------------------------------------------------------------------
    def count(self, b, pc):
        """At a segment's leader: its warp and thread issue counts (per leader pc, expanded to every
        pc of the segment by `heads`), and its instructions into the budget counter."""
        if pc not in self.leaders:
            return
        m = b.load(self.maskv)
        p = b.gep(self.opw, [c64(pc)])
        b.store(b.add(b.load(p), c64(1)), p)
        p = b.gep(self.opt, [c64(pc)])
        pop = b.zext(b.call(self._ctpop32(), [m]), I64)
        b.store(b.add(b.load(p), pop), p)
        b.store(b.add(b.load(self.icv), c64(self.seglen[pc])), self.icv)

    def _ctpop32(self):
        f = self.module.globals.get("llvm.ctpop.i32")
        return f or ir.Function(self.module, ir.FunctionType(I32, [I32]), name="llvm.ctpop.i32")

    def save(self, b, pc=None):
        """Write the top of the stack back to ws (pc from the pc variable unless given)."""
        b.store(pc if pc is not None else b.load(self.pcv), self.wptr(b, W_PC))
        b.store(b.load(self.rpcv), self.wptr(b, W_RPC))
        b.store(b.zext(b.load(self.maskv), I64), self.wptr(b, W_MASK))
        b.store(b.load(self.icv), self.wptr(b, W_ICOUNT))
        b.store(b.load(self.depv), self.wptr(b, W_DEPTH))

    def bail(self, b, pc, why):
        if self._helper:                       # in a resolve helper: null, the reason in ctx
            b.store(c64(why), self.cptr(b, C_BAIL_WHY))
            b.ret(ir.Constant(ir.IntType(8).as_pointer(), None))
            return
        b.store(c64(pc), self.cptr(b, C_BAIL_PC))
        b.store(c64(why), self.cptr(b, C_BAIL_WHY))
        self.save(b, c64(pc))
        b.ret(c32(2))

    def bail_if(self, b, cond, pc, why):
        bad = b.append_basic_block("bail")
        ok = b.append_basic_block("ok")
        b.cbranch(cond, bad, ok)
        b.position_at_end(bad)
        self.bail(b, pc, why)
        b.position_at_end(ok)

    def goto(self, b, pc, settle=None):
        """Continue at pc (through `settle` when pc is a reconvergence point)."""
        if settle is None:
            settle = pc in self.rpcs
        if pc not in range(self.n + 1):
            b.store(c64(pc), self.pcv)
            b.branch(self.settle_b)
        elif settle:
            # settle pops when pc is the top entry's reconvergence pc or the mask is empty; an
            # instruction never runs with an empty mask, so only the first can hold here: test it
            # inline and branch straight to pc otherwise (loops stay loops for LLVM)
            sb = b.append_basic_block("tosettle")
            b.cbranch(b.icmp_signed("==", b.load(self.rpcv), c64(pc)), sb, self.blk[pc])
            s = ir.IRBuilder(sb)
            s.store(c64(pc), self.pcv)
            self.reconverge(s, pc)
        else:
            b.branch(self.blk[pc])

    def guard_mask(self, b, ins, m):
        if ins.guard is None:
            return m
        p = self.read(b, ins.guard, "pred")
        pm = b.bitcast(p, I32)
        return b.and_(m, b.not_(pm) if ins.guard_neg else pm)

    # -- stack ------------------------------------------------------------------------------------------
    def _settle(self):
        b = ir.IRBuilder(self.settle_b)
        pc, rpc, m = b.load(self.pcv), b.load(self.rpcv), b.load(self.maskv)
        c = b.or_(b.icmp_signed("==", pc, rpc), b.icmp_unsigned("==", m, c32(0)))
        pop, done = b.append_basic_block("pop"), b.append_basic_block("done")
        b.cbranch(c, pop, self.dispatch_b)
        b.position_at_end(pop)
        d = b.load(self.depv)
        has, popb = b.icmp_signed("==", d, c64(0)), b.append_basic_block("pop1")
        b.cbranch(has, done, popb)
        b.position_at_end(popb)
        self.pop1(b)
        b.branch(self.settle_b)
        b.position_at_end(done)
        b.store(c32(0), self.maskv)
        self.save(b)
        b.ret(c32(0))

    def pop1(self, b):
        """Pop the top entry (the depth is not 0) into pc, rpc and mask; returns (pc, rpc, mask)."""
        d1 = b.sub(b.load(self.depv), c64(1))
        base = b.add(c64(W_STACK), b.mul(d1, c64(3)))
        pc = b.load(b.gep(self.ws, [base]))
        rpc = b.load(b.gep(self.ws, [b.add(base, c64(1))]))
        m = b.trunc(b.load(b.gep(self.ws, [b.add(base, c64(2))])), I32)
        b.store(pc, self.pcv)
        b.store(rpc, self.rpcv)
        b.store(m, self.maskv)
        b.store(d1, self.depv)
        return pc, rpc, m

    def reconverge(self, b, pc):
        """At reconvergence pc, whose top entry has pc as its rpc: pop it, and when nothing more needs
        popping jump straight to the popped pc where it is one of the pcs that the branches
        reconverging at pc leave on the stack (else through `settle`, which gives the same result)."""
        popb, fast = b.append_basic_block("rpop"), b.append_basic_block("rfast")
        b.cbranch(b.icmp_signed("==", b.load(self.depv), c64(0)), self.settle_b, popb)
        b.position_at_end(popb)
        npc, rpc, m = self.pop1(b)
        again = b.or_(b.icmp_signed("==", npc, rpc), b.icmp_unsigned("==", m, c32(0)))
        b.cbranch(again, self.settle_b, fast)
        b.position_at_end(fast)
        sw = b.switch(npc, self.dispatch_b)
        for t in sorted(self.pop_targets.get(pc, ())):
            sw.add_case(c64(t), self.blk[t])

    def push(self, b, pc, rpc, m, at):
        d = b.load(self.depv)
        self.bail_if(b, b.icmp_signed(">=", d, c64(STACK_DEPTH)), at, B_STACK)
        base = b.add(c64(W_STACK), b.mul(d, c64(3)))
        b.store(pc, b.gep(self.ws, [base]))
        b.store(rpc, b.gep(self.ws, [b.add(base, c64(1))]))
        b.store(b.zext(m, I64), b.gep(self.ws, [b.add(base, c64(2))]))
        b.store(b.add(d, c64(1)), self.depv)

    def _dispatch(self):
        b = ir.IRBuilder(self.dispatch_b)
        bad = b.append_basic_block("badpc")
        sw = b.switch(b.load(self.pcv), bad)
        for pc in sorted(self.leaders):
            if 0 <= pc <= self.n:
                sw.add_case(c64(pc), self.blk[pc])
        b.position_at_end(bad)
        self.bail(b, -1, B_STACK)

    def _resume(self, blk):
        b = ir.IRBuilder(blk)
        b.store(c64(0), self.wptr(b, W_WAIT))
        bad = b.append_basic_block("badresume")
        sw = b.switch(b.load(self.pcv), bad)
        for pc, ins in self.barriers:
            rb = b.append_basic_block(f"resume{pc}")
            sw.add_case(c64(pc), rb)
            r = ir.IRBuilder(rb)
            if spec.family(ins).sem:           # bar.red: the reduction over the arrived lanes
                op = next(m for m in ins.mods if m in spec.family(ins).sem)
                cnt, tot = self.cword(r, C_RED_COUNT), self.cword(r, C_RED_TOTAL)
                if op == "popc":
                    val = r.trunc(cnt, I32)
                    v = r.insert_element(ir.Constant(vec(I32), None), val, c32(0))
                    v = r.shuffle_vector(v, ir.Constant(vec(I32), None), ir.Constant(vec(I32), [c32(0)] * N))
                    self.write(r, ins.operands[0], "u32", v, r.load(self.maskv))
                else:
                    c = r.icmp_signed("==", cnt, tot) if op == "and" else r.icmp_signed(">", cnt, c64(0))
                    v = r.insert_element(ir.Constant(vec(I1), None), c, c32(0))
                    v = r.shuffle_vector(v, ir.Constant(vec(I1), None), ir.Constant(vec(I32), [c32(0)] * N))
                    self.write(r, ins.operands[0], "pred", v, r.load(self.maskv))
            self.goto(r, pc + 1, settle=True)
        b.position_at_end(bad)
        self.bail(b, -1, B_STACK)

    # -- instructions -----------------------------------------------------------------------------------
    def instr(self, b, pc, ins):
        fam = spec.family(ins).machine          # the ISA table's `machine` column ('' = arithmetic)
        if fam == "branch":
            return self.bra(b, pc, ins)
        if fam == "exit":
            return self.exit(b, pc, ins)
        if fam == "trap":
            return self.bail(b, pc, B_TRAP)
        if fam == "barrier":                    # bar.sync, bar.red (grid.sync is declined)
            return self.barrier(b, pc, ins)
        m = self.guard_mask(b, ins, b.load(self.maskv))
        self.unmasked = ins.guard is None
        if fam in ("shuffle", "vote", "warp_sync"):
            self.warp_op(b, pc, ins, fam, m)
        elif fam == "move":
            t = ins.types[0]
            self.write(b, ins.operands[0], t, self.read(b, ins.operands[1], t), m)
        elif fam == "activemask":
            mm = b.load(self.maskv)
            v = b.insert_element(ir.Constant(vec(I32), None), mm, c32(0))
            v = b.shuffle_vector(v, ir.Constant(vec(I32), None), ir.Constant(vec(I32), [c32(0)] * N))
            self.write(b, ins.operands[0], "b32", v, m)
        elif fam == "fence":
            pass
        elif fam == "load":
            self.load(b, pc, ins, m)
        elif fam == "store":
            self.store(b, pc, ins, m)
        elif fam == "atomic":
            self.atomic(b, pc, ins, m)
        else:
            self.alu(b, ins, m)
        self.unmasked = False
        self.goto(b, pc + 1)

    def alu(self, b, ins, m):
        fam = spec.family(ins)
        kinds = fam.operand_kinds(ins.mods)
        types = ins.types
        op = spec.semantics(ins)
        dt = _DST_TYPE[kinds[0]](types)
        args = [self.read(b, o, _SRC_TYPE[k](types)) for o, k in zip(ins.operands[1:], kinds[1:])]
        t0 = scalar_of(types[0])
        src, mode, t = None, None, t0
        if len(fam.types) == 2:                 # cvt: the source type is the second suffix
            src, mode = scalar_of(types[1]), ".".join(ins.mods) or None
        elif kinds[0] == "du":
            t, src = (U32, t0) if op != "brev" else (t0, None)
        elif kinds[0] == "dw":
            t = scalar_of(spec.wide(types[0]))
        if fam.arg_order:                       # selp d, a, b, p  ->  select(p, a, b)
            args = [args[i] for i in fam.arg_order]
        self.write(b, ins.operands[0], dt, alu.emit(b, op, t, args, src, mode), m)

    def bra(self, b, pc, ins):
        target = self.code.labels[ins.operands[0].name]
        self.bail_if(b, b.icmp_signed(">", b.load(self.icv), self.budget), pc, B_BUDGET)
        if ins.guard is None:
            return self.goto(b, target)
        r = self.code.reconv.get(pc, -1)
        r = r if 0 <= r <= self.n else -1
        m = b.load(self.maskv)
        p = b.bitcast(self.read(b, ins.guard, "pred"), I32)
        taken = b.and_(m, b.not_(p) if ins.guard_neg else p)
        nt = b.and_(m, b.not_(taken))
        div = b.and_(b.icmp_unsigned("!=", taken, c32(0)), b.icmp_unsigned("!=", nt, c32(0)))
        divb, unib = b.append_basic_block("div"), b.append_basic_block("uni")
        b.cbranch(div, divb, unib)
        may_pop = target in self.rpcs or pc + 1 in self.rpcs
        # uniform: just go
        u = ir.IRBuilder(unib)
        tk, fb = u.append_basic_block("taken"), u.append_basic_block("fall")
        u.cbranch(u.icmp_unsigned("!=", taken, c32(0)), tk, fb)
        self.goto(ir.IRBuilder(tk), target, settle=may_pop)
        self.goto(ir.IRBuilder(fb), pc + 1, settle=may_pop)
        # divergent
        d = ir.IRBuilder(divb)
        dp = d.gep(d.inttoptr(self.cword(d, C_DIV), I64.as_pointer()), [c64(pc)])
        d.store(d.add(d.load(dp), c64(1)), dp)
        F, T, R = pc + 1, target, r
        if F == R and T == R:
            return self.goto(d, R, settle=may_pop)
        newr = d.icmp_signed("!=", d.load(self.rpcv), c64(R))
        pb, cont = d.append_basic_block("pushr"), d.append_basic_block("cont")
        d.cbranch(newr, pb, cont)
        d.position_at_end(pb)
        self.push(d, c64(R), d.load(self.rpcv), m, pc)
        d.branch(cont)
        d.position_at_end(cont)
        if F == R:
            d.store(taken, self.maskv)
            d.store(c64(R), self.rpcv)
            return self.goto(d, T, settle=may_pop)
        if T != R:
            self.push(d, c64(T), c64(R), taken, pc)
        d.store(nt, self.maskv)
        d.store(c64(R), self.rpcv)
        self.goto(d, F, settle=may_pop)

    def exit(self, b, pc, ins):
        m = b.load(self.maskv)
        leave = m
        if ins is not None and ins.guard is not None:
            leave = self.guard_mask(b, ins, m)
            stays = b.icmp_unsigned("!=", b.and_(m, b.not_(leave)), c32(0))
            b.store(b.select(stays, c64(pc + 1), c64(pc)), self.pcv)
        else:
            b.store(c64(pc), self.pcv)
        keep = b.not_(leave)
        ap = self.wptr(b, W_ALIVE)
        b.store(b.and_(b.load(ap), b.zext(keep, I64)), ap)
        b.store(b.and_(m, keep), self.maskv)
        d = b.load(self.depv)

        def entry(b, k):                    # the lanes leave every SIMT stack entry's mask
            p = b.gep(self.ws, [b.add(c64(W_STACK + 2), b.mul(k, c64(3)))])
            b.store(b.and_(b.load(p), b.zext(keep, I64)), p)
        loop(b, d, "x", entry)
        b.branch(self.settle_b)

    def barrier(self, b, pc, ins):
        self.barriers.append((pc, ins))
        d = b.load(self.depv)
        m = b.load(self.maskv)
        alive = b.trunc(b.load(self.wptr(b, W_ALIVE)), I32)
        bad = b.or_(b.icmp_signed("!=", d, c64(0)), b.icmp_unsigned("!=", m, alive))
        self.bail_if(b, bad, pc, B_DIVERGENT_BARRIER)
        if spec.family(ins).sem:               # bar.red
            p = b.bitcast(self.read(b, ins.operands[2], "pred"), I32)
            b.store(b.zext(b.and_(p, m), I64), self.wptr(b, W_BARPRED))
        b.store(c64(1), self.wptr(b, W_WAIT))
        self.save(b, c64(pc))
        self.spill_regs(b)
        b.ret(c32(1))
