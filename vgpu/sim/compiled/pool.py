"""The threads that run compiled launches with the calling thread, waiting for launches in native code.

In:  `pool().run(fn, desc, n, stop)`: the address of a kernel's chunk loop (chunks.py, `i64 fn(i64*
     desc, i64 t, i64 once)`), a launch's descriptor, the number of threads, `stop()`, which
     makes the chunk loops stop taking chunks (on an exception here: Ctrl-C), and `tick()` (or
     None), called whenever this thread comes back from native code (progress).
Out: True once fn(desc, 0, ...) has run on this thread (BEGIN, deadlines until it took no chunk,
     END) and fn(desc, t, 0) on every thread t < n that joined in time, and all have returned
     (False, with nothing run: another launch holds the pool).

Between launches a thread spins in native code (no GIL held) for about SPIN_SECONDS (threads past
the usable cores do not spin), watching the pool's generation word, so that a launch soon after the
last one starts on every thread within a microsecond, with no system call and no Python.  Then it
sleeps: on Linux in the kernel, on a futex on the generation word (counting itself in SLEEPERS and
looking once more first), so that a launch wakes every sleeper with one system call and they start
without the GIL; elsewhere on a Python lock (its state word goes SLEEP -> WOKEN in one
compare-and-swap, so each sleep gets exactly one wake: the launching thread releases the first
one's lock and each woken thread releases two more, a tree).  A launch publishes its descriptor
and opens (`open`: a new generation, and the wakes), runs its own share (`lead`, which comes back
every SLICE_NS so that Python sees progress and Ctrl-C), closes, and waits for the threads that
joined to leave.  A thread joins by counting itself in (ACTIVE) and checking that the launch it saw
is still open; closing before waiting for ACTIVE to drain means no thread can join a launch once its
launcher stops waiting, so the descriptor may be reused at once.  Threads that had not joined by
then (still waking) simply wait for the next launch.  The words (int64, hot ones on cache lines of
their own) are listed below.
"""
from __future__ import annotations

import atexit
import ctypes
import os
import sys
import threading
import time

from llvmlite import ir

from ..config import usable_cores
from .alu import I64
from .chunks import BEGIN, END
from .native import aligned, jit, libc, pause

P_GEN, P_OPEN, P_ACTIVE, P_QUIT, P_INSIDE = 0, 8, 16, 24, 32
P_DESC, P_FN, P_N, P_YIELD, P_SYSCALL, P_FUTEX = 40, 41, 42, 43, 44, 45
P_SLEEPERS, P_WAKES = 48, 49   # futex sleep: threads asleep on GEN; futex wakes made (tests)
P_THREADS = 56            # thread t's line: STATE, LAST (the generation it last joined)
SPIN, SLEEP, WOKEN = 0, 1, 2
MAX_THREADS = 1024
SPIN_SECONDS = 1e-3       # how long a thread waits in native code for the next launch before sleeping
FUTEX = {"x86_64": 202, "aarch64": 98}                    # Linux's futex system call, by machine
FUTEX_WAIT, FUTEX_WAKE = 128, 129                         # ..._PRIVATE
SLICE_NS = 50_000_000     # the launching thread comes back to Python this often (Ctrl-C)


def c64(v):
    return ir.Constant(I64, v)


def _module() -> ir.Module:
    """worker(pool, t, spins) -> 0 (sleep) | 1 (quit); open(pool, desc, fn, n, woken) -> how many
    sleeping threads to wake (listed in woken); lead(pool, deadline) -> 1 (call again: the launching
    thread's chunks went past the deadline) | 0 (no chunk left: closed, and the threads left)."""
    m = ir.Module(name="vgpu_pool")
    P = I64.as_pointer()
    chunk_ty = ir.FunctionType(I64, [P, I64, I64])
    _worker(m, P, chunk_ty)
    _open(m, P, chunk_ty)
    _lead(m, P, chunk_ty)
    _nudge(m, P)
    return m


def _relax(b, pool, count) -> None:
    """A spin-wait hint, and every YIELD_EVERY-th time sched_yield (when the pool has it, P_YIELD):
    a spinning thread must not keep a thread that was preempted mid-chunk off its core."""
    pause(b)
    f = b.function
    yes, after = f.append_basic_block("yield"), f.append_basic_block("relaxed")
    addr = b.load(_at(b, pool, P_YIELD))
    due = b.icmp_signed("==", b.and_(count, c64(YIELD_EVERY - 1)), c64(YIELD_EVERY - 1))
    b.cbranch(b.and_(due, b.icmp_signed("!=", addr, c64(0))), yes, after)
    b.position_at_end(yes)
    b.call(b.inttoptr(addr, ir.FunctionType(ir.IntType(32), []).as_pointer()), [])
    b.branch(after)
    b.position_at_end(after)


YIELD_EVERY = 32


def _futex(b, pool, op: int, val) -> None:
    """syscall(SYS_futex, &GEN (its low 32 bits), op, val, NULL): wait while GEN is val, or wake all."""
    sc = b.inttoptr(b.load(_at(b, pool, P_SYSCALL)), ir.FunctionType(I64, [I64], var_arg=True).as_pointer())
    b.call(sc, [b.load(_at(b, pool, P_FUTEX)), b.ptrtoint(_at(b, pool, P_GEN), I64), c64(op), val, c64(0)])


def _at(b, pool, k):
    return b.gep(pool, [k if isinstance(k, ir.Value) else c64(k)])


def _line(b, t, k):
    """The index of word k (STATE 0, LAST 1) of thread t's line."""
    return b.add(b.mul(t, c64(8)), c64(P_THREADS + k))


def _worker(m, P, chunk_ty):
    fn = ir.Function(m, ir.FunctionType(I64, [P, I64, I64]), name="worker")
    pool, t, spins = fn.args
    bb = {x: fn.append_basic_block(x) for x in ("e", "head", "spin", "expire", "lock", "revive", "sleep", "quit",
                                                  "futex", "fwait", "try", "early", "joined", "call", "left")}
    b = ir.IRBuilder(bb["e"])
    st, last = _at(b, pool, _line(b, t, 0)), _at(b, pool, _line(b, t, 1))
    b.atomic_rmw("add", _at(b, pool, P_INSIDE), c64(1), "seq_cst")
    b.store_atomic(c64(SPIN), st, "seq_cst", 8)
    b.branch(bb["head"])

    b.position_at_end(bb["head"])
    count = b.phi(I64)
    count.add_incoming(c64(0), bb["e"])
    quit_ = b.load_atomic(_at(b, pool, P_QUIT), "monotonic", 8)
    look = fn.append_basic_block("look")
    b.cbranch(b.icmp_signed("!=", quit_, c64(0)), bb["quit"], look)
    b.position_at_end(look)

    def fresh(b, order):
        """(a launch is open that this thread has not joined, its generation)."""
        o = b.load_atomic(_at(b, pool, P_OPEN), order, 8)
        g = b.load_atomic(_at(b, pool, P_GEN), order, 8)
        return b.and_(b.icmp_signed("!=", o, c64(0)), b.icmp_signed("!=", g, b.load(last))), g

    new, g = fresh(b, "acquire")
    look_end = b.block
    b.cbranch(new, bb["try"], bb["spin"])

    b.position_at_end(bb["spin"])
    _relax(b, pool, count)
    more = b.add(count, c64(1))
    count.add_incoming(more, b.block)
    b.cbranch(b.icmp_signed("<", more, spins), bb["head"], bb["expire"])

    b.position_at_end(bb["expire"])
    b.cbranch(b.icmp_signed("!=", b.load(_at(b, pool, P_FUTEX)), c64(0)), bb["futex"], bb["lock"])

    b.position_at_end(bb["futex"])                  # asleep in the kernel on GEN: count in, look once more
    b.atomic_rmw("add", _at(b, pool, P_SLEEPERS), c64(1), "seq_cst")
    new3, g3 = fresh(b, "seq_cst")
    joining = fn.append_basic_block("fjoin")
    b.cbranch(new3, joining, bb["fwait"])
    b.position_at_end(joining)
    b.atomic_rmw("sub", _at(b, pool, P_SLEEPERS), c64(1), "seq_cst")
    b.branch(bb["try"])
    b.position_at_end(bb["fwait"])                  # (returns at once if GEN is no longer g3)
    _futex(b, pool, FUTEX_WAIT, b.and_(g3, c64(0xFFFFFFFF)))
    b.atomic_rmw("sub", _at(b, pool, P_SLEEPERS), c64(1), "seq_cst")
    count.add_incoming(c64(0), bb["fwait"])
    b.branch(bb["head"])

    b.position_at_end(bb["lock"])                   # going to sleep on a Python lock: say so, then look again
    b.cmpxchg(st, c64(SPIN), c64(SLEEP), "seq_cst", "seq_cst")
    new2, g2 = fresh(b, "seq_cst")
    b.cbranch(new2, bb["revive"], bb["sleep"])

    b.position_at_end(bb["revive"])                 # a launch opened meanwhile: unless it wakes us, join
    r = b.cmpxchg(st, c64(SLEEP), c64(SPIN), "seq_cst", "seq_cst")
    b.cbranch(b.extract_value(r, 1), bb["try"], bb["sleep"])

    b.position_at_end(bb["sleep"])
    b.atomic_rmw("sub", _at(b, pool, P_INSIDE), c64(1), "seq_cst")
    b.ret(c64(0))

    b.position_at_end(bb["quit"])
    b.atomic_rmw("sub", _at(b, pool, P_INSIDE), c64(1), "seq_cst")
    b.ret(c64(1))

    b.position_at_end(bb["try"])
    gen = b.phi(I64)
    gen.add_incoming(g, look_end)
    gen.add_incoming(g2, bb["revive"])
    gen.add_incoming(g3, joining)
    b.atomic_rmw("add", _at(b, pool, P_ACTIVE), c64(1), "seq_cst")
    o3 = b.load_atomic(_at(b, pool, P_OPEN), "seq_cst", 8)
    g3 = b.load_atomic(_at(b, pool, P_GEN), "seq_cst", 8)
    ok = b.and_(b.icmp_signed("!=", o3, c64(0)), b.icmp_signed("==", g3, gen))
    b.cbranch(ok, bb["joined"], bb["early"])

    b.position_at_end(bb["early"])                  # it closed before we were in: not ours
    b.atomic_rmw("sub", _at(b, pool, P_ACTIVE), c64(1), "seq_cst")
    count.add_incoming(c64(0), bb["early"])
    b.branch(bb["head"])

    b.position_at_end(bb["joined"])
    b.store(gen, last)
    n = b.load(_at(b, pool, P_N))
    b.cbranch(b.icmp_signed("<", t, n), bb["call"], bb["left"])
    b.position_at_end(bb["call"])
    chunks = b.inttoptr(b.load(_at(b, pool, P_FN)), chunk_ty.as_pointer())
    b.call(chunks, [b.inttoptr(b.load(_at(b, pool, P_DESC)), P), t, c64(0)])
    b.branch(bb["left"])
    b.position_at_end(bb["left"])
    b.atomic_rmw("sub", _at(b, pool, P_ACTIVE), c64(1), "seq_cst")
    count.add_incoming(c64(0), bb["left"])
    b.branch(bb["head"])


def _wake_sleepers(b, pool) -> None:
    """If threads sleep on GEN (futex), wake them all: one system call (after GEN changed)."""
    sleepers = b.load_atomic(_at(b, pool, P_SLEEPERS), "seq_cst", 8)
    with b.if_then(b.icmp_signed("!=", sleepers, c64(0))):
        _futex(b, pool, FUTEX_WAKE, c64(0x7FFFFFFF))
        b.atomic_rmw("add", _at(b, pool, P_WAKES), c64(1), "monotonic")


def _nudge(m, P):
    """nudge(pool): a new generation, no launch, every futex sleeper woken (to see QUIT)."""
    fn = ir.Function(m, ir.FunctionType(ir.VoidType(), [P]), name="nudge")
    (pool,) = fn.args
    b = ir.IRBuilder(fn.append_basic_block("e"))
    b.atomic_rmw("add", _at(b, pool, P_GEN), c64(1), "seq_cst")
    _wake_sleepers(b, pool)
    b.ret_void()


def _open(m, P, chunk_ty):
    fn = ir.Function(m, ir.FunctionType(I64, [P, I64, I64, I64, P]), name="open")
    pool, desc, chunks, n, woken = fn.args
    e, head, body, cas_ok, nxt, out = (fn.append_basic_block(x) for x in ("e", "h", "b", "w", "n", "o"))
    b = ir.IRBuilder(e)
    b.call(b.inttoptr(chunks, chunk_ty.as_pointer()), [b.inttoptr(desc, P), c64(0), c64(BEGIN)])
    b.store(desc, _at(b, pool, P_DESC))
    b.store(chunks, _at(b, pool, P_FN))
    b.store(n, _at(b, pool, P_N))
    g = b.add(b.load(_at(b, pool, P_GEN)), c64(1))
    b.store_atomic(g, _at(b, pool, P_GEN), "seq_cst", 8)
    b.store_atomic(c64(1), _at(b, pool, P_OPEN), "seq_cst", 8)
    _wake_sleepers(b, pool)
    pre = b.block
    b.branch(head)
    b.position_at_end(head)
    t = b.phi(I64)
    k = b.phi(I64)
    t.add_incoming(c64(1), pre)
    k.add_incoming(c64(0), pre)
    b.cbranch(b.icmp_signed("<", t, n), body, out)
    b.position_at_end(body)
    r = b.cmpxchg(_at(b, pool, _line(b, t, 0)), c64(SLEEP), c64(WOKEN), "seq_cst", "seq_cst")
    b.cbranch(b.extract_value(r, 1), cas_ok, nxt)
    b.position_at_end(cas_ok)
    b.store(t, b.gep(woken, [k]))
    k1 = b.add(k, c64(1))
    b.branch(nxt)
    b.position_at_end(nxt)
    k2 = b.phi(I64)
    k2.add_incoming(k, body)
    k2.add_incoming(k1, cas_ok)
    t.add_incoming(b.add(t, c64(1)), nxt)
    k.add_incoming(k2, nxt)
    b.branch(head)
    b.position_at_end(out)
    b.ret(k)


def _lead(m, P, chunk_ty):
    fn = ir.Function(m, ir.FunctionType(I64, [P, I64]), name="lead")
    pool, deadline = fn.args
    e, more, close, wait, spin, out = (fn.append_basic_block(x) for x in ("e", "more", "close", "wait", "spin", "out"))
    b = ir.IRBuilder(e)
    chunks = b.inttoptr(b.load(_at(b, pool, P_FN)), chunk_ty.as_pointer())
    took = b.call(chunks, [b.inttoptr(b.load(_at(b, pool, P_DESC)), P), c64(0), deadline])
    b.cbranch(b.icmp_signed("!=", took, c64(0)), more, close)
    b.position_at_end(more)
    b.ret(c64(1))
    b.position_at_end(close)
    b.call(chunks, [b.inttoptr(b.load(_at(b, pool, P_DESC)), P), c64(0), c64(END)])
    b.store_atomic(c64(0), _at(b, pool, P_OPEN), "seq_cst", 8)
    b.branch(wait)
    b.position_at_end(wait)
    i = b.phi(I64)
    i.add_incoming(c64(0), close)
    a = b.load_atomic(_at(b, pool, P_ACTIVE), "seq_cst", 8)
    b.cbranch(b.icmp_signed("!=", a, c64(0)), spin, out)
    b.position_at_end(spin)
    _relax(b, pool, i)
    i.add_incoming(b.add(i, c64(1)), b.block)
    b.branch(wait)
    b.position_at_end(out)
    b.ret(c64(0))


class _Code:
    """The pool's native functions (compiled once per process) and the spins that last SPIN_SECONDS."""

    def __init__(self):
        self.engine, _, _ = jit(_module())
        P, L = ctypes.c_void_p, ctypes.c_int64
        addr = self.engine.get_function_address
        self.worker = ctypes.CFUNCTYPE(L, P, L, L)(addr("worker"))
        self.open = ctypes.CFUNCTYPE(L, P, L, L, L, P)(addr("open"))
        self.lead = ctypes.CFUNCTYPE(L, P, L)(addr("lead"))
        self.nudge = ctypes.CFUNCTYPE(None, P)(addr("nudge"))
        words = aligned(P_THREADS + 8 * 2)          # a pool of its own, with no launch: spin, then sleep
        words[P_YIELD] = libc("sched_yield")
        n = 20000
        best = min(self._spin(words, n) for _ in range(3))
        self.spins = max(1000, int(SPIN_SECONDS * n / max(best, 1e-9)))

    def _spin(self, words, n: int) -> float:
        t0 = time.perf_counter()
        self.worker(words.ctypes.data, 1, n)
        return time.perf_counter() - t0


def futex() -> tuple[int, int]:
    """(The address of the C library's syscall, SYS_futex) on Linux; (0, 0) elsewhere (threads then
    sleep on Python locks)."""
    import platform
    number = FUTEX.get(platform.machine()) if sys.platform.startswith("linux") else None
    return (libc("syscall"), number) if number and libc("syscall") else (0, 0)


_made: dict = {}                # _Code and Pool: one each per process (Pool: made again in a forked child)
_made_lock = threading.Lock()


def _one(kind):
    with _made_lock:
        if kind not in _made:
            _made[kind] = kind()
        return _made[kind]


def code() -> _Code:
    """The pool's native code, compiled (and its spin calibrated) on first use."""
    return _one(_Code)


class Pool:
    """The threads (numbered 1, 2, ...; the launching thread is 0) and their words; see the module
    docstring.  One launch at a time."""

    def __init__(self, use_futex: bool = True):
        self.words = aligned(P_THREADS + 8 * (MAX_THREADS + 1))
        self.addr = self.words.ctypes.data
        self.words[P_YIELD] = libc("sched_yield")
        if use_futex:
            self.words[P_SYSCALL], self.words[P_FUTEX] = futex()
        self.woken = aligned(MAX_THREADS + 1)
        self.woken_at = self.woken.ctypes.data
        self.go: list = [None]                  # per thread, the lock it sleeps on
        self.threads: list = [None]
        self.wakes = 0                          # how many times a thread was woken (tests, benchmarks)
        self.tree: dict = {}                    # a woken thread -> (the threads woken with it, its rank)
        self.busy = threading.Lock()

    def _grow(self, n: int) -> None:
        while len(self.go) < n:
            go = threading.Lock()
            go.acquire()
            t = len(self.go)
            self.go.append(go)
            th = threading.Thread(target=self._loop, args=(t, go), daemon=True, name=f"vgpu-compiled-{t}")
            self.threads.append(th)
            th.start()

    def _loop(self, t: int, go) -> None:
        nat = code()
        spins = nat.spins if t < usable_cores() else 0      # more threads than cores: no spinning (they
        while nat.worker(self.addr, t, spins) == 0:         # would keep the others off the cores)
            go.acquire()                        # released once by the launch that set this thread WOKEN
            self.wakes += 1
            woken, i = self.tree.pop(t)
            for j in (2 * i + 1, 2 * i + 2):
                if j < len(woken):
                    self.go[woken[j]].release()

    def run(self, fn: int, desc: int, n: int, stop, tick=None) -> bool:
        n = min(n, MAX_THREADS)
        if not self.busy.acquire(blocking=False):
            return False
        try:
            nat = code()
            self._grow(n)
            k = nat.open(self.addr, desc, fn, n, self.woken_at)
            try:                                    # (open: the launch must be led to its close)
                if k:
                    woken = self.woken[:k].tolist()
                    for i, t in enumerate(woken):
                        self.tree[t] = (woken, i)
                    self.go[woken[0]].release()
                while nat.lead(self.addr, time.monotonic_ns() + SLICE_NS):
                    if tick is not None:            # back every SLICE_NS: progress, and Ctrl-C gets in
                        tick()
            except BaseException:
                stop()                              # the threads stop taking chunks; wait for them
                while nat.lead(self.addr, 1):           # (a deadline long past: a chunk at a time)
                    pass
                raise
        finally:
            self.busy.release()
        return True

    def quit(self, wait: float = 1.0) -> None:
        """Make the threads in native code leave it (and stay out); wait for them, up to `wait` s."""
        self.words[P_QUIT] = 1
        code().nudge(self.addr)
        end = time.monotonic() + wait
        while self.words[P_INSIDE] > 0 and time.monotonic() < end:
            time.sleep(1e-3)


def pool() -> Pool:
    """This process's pool (its threads start as launches need them)."""
    return _one(Pool)


def _forget() -> None:
    """In a forked child: none of the threads exist there."""
    global _made_lock
    _made.pop(Pool, None)
    _made_lock = threading.Lock()        # (a lock held by another thread at the fork stays held)


def _at_exit() -> None:
    if Pool in _made:
        _made[Pool].quit()


os.register_at_fork(after_in_child=_forget)
atexit.register(_at_exit)
