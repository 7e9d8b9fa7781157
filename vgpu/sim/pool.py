"""SM worker processes: a persistent pool per device that runs the waves of a launch in parallel.

In:  a launch of several waves (`launch.launch` hands it over as `parallel(k, cfg, nwaves, wave,
     result)`), the loaded module it belongs to, and the device's global and constant memory, which
     live in named shared-memory segments (/dev/shm/vgpu-*) that every worker maps.
Out: the launch's merged `BlocksResult` (counters summed, printf records of every block), the same
     as running the waves one after another in-process; or the `DeviceError` of the lowest
     faulting wave (the one in-process execution would meet first); or `WorkerDied`.

A wave (the blocks resident together, see `launch`) is the unit of work: it runs whole inside one
worker, with its shared memory, barriers and SIMT stacks, and its counters start from zero, so its
result does not depend on the worker.  Workers take wave indices in increasing order from a shared
counter, so every wave below a running one has started (a wave never waits on a later one).
Global atomics take striped cross-process locks (`Interlock`); membar.gl is a full memory barrier.
Segments are named vgpu-<pid>-<n>-<what>; a process killed with SIGKILL cannot unlink its own, so
every new pool first unlinks those whose pid is gone (`sweep_segments`).
Design, determinism argument and failure handling: docs/workers.md.
"""
from __future__ import annotations

import itertools
import os
import pickle
import signal
import threading
import time
import weakref
from multiprocessing import connection, get_context, shared_memory

import numpy as np

from .config import new_result
from .decode import decode_kernel
from .faults import DeviceError, WorkerDied
from .launch import run_wave
from .memory import CONST_BYTES, GLOBAL_BASE, ConstBank, GlobalMemory
from .wave import WaveCache

PREFIX = "vgpu"
STRIPES = 64                     # atomic lock stripes, by 128-byte line of the address
STOP, NEXT, FAULT, DONE = range(4)   # control words after the constant bank (DONE: waves finished)
CTL_WORDS = 4
NO_FAULT = np.iinfo(np.int64).max
STOP_GRACE = 0.5                 # seconds the workers get to stop before they are killed
START_TIMEOUT = 60.0
_serial = itertools.count()


class _Stopped(Exception):
    """Raised inside a worker's wave when the launch is stopped (Ctrl-C, an earlier wave faulted)."""


# -- shared memory ---------------------------------------------------------------------------------
class Segment(shared_memory.SharedMemory):
    """A named shared-memory segment; closing it while numpy views remain leaves the mapping alive
    until they go (unlink, not close, is what frees the name)."""

    def __del__(self):
        try:
            self.close()
        except (OSError, BufferError):
            pass


def create_segment(what: str, size: int) -> Segment:
    return Segment(name=f"{PREFIX}-{os.getpid()}-{next(_serial)}-{what}", create=True, size=size)


def release_segment(seg: Segment) -> None:
    try:
        seg.unlink()
    except FileNotFoundError:
        pass
    try:
        seg.close()
    except BufferError:          # host views of device memory still exist
        pass


def sweep_segments(directory: str = "/dev/shm") -> list[str]:
    """Unlink the segments left by vgpu processes that are gone (killed with SIGKILL, which no
    cleanup survives): names `vgpu-<pid>-...` whose pid no longer runs.  Returns their names."""
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    swept = []
    for name in names:
        parts = name.split("-")
        if len(parts) < 4 or parts[0] != PREFIX or not parts[1].isdigit():
            continue
        try:
            os.kill(int(parts[1]), 0)
            continue                                  # the owner still runs
        except ProcessLookupError:
            pass
        except (PermissionError, OverflowError):
            continue
        try:
            os.unlink(os.path.join(directory, name))
            swept.append(name)
        except OSError:
            pass
    return swept


def shm_room() -> int | None:
    """Free bytes in /dev/shm (None where there is no such file system)."""
    try:
        st = os.statvfs("/dev/shm")
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


# -- inside a worker -------------------------------------------------------------------------------
class _Held:
    __slots__ = ("locks",)

    def __init__(self, locks):
        self.locks = locks

    def __enter__(self):
        for lock in self.locks:
            lock.acquire()

    def __exit__(self, *exc):
        for lock in reversed(self.locks):
            lock.release()


class Interlock:
    """What a wave running in a worker shares with the other workers: striped locks for global
    atomics, a memory barrier for membar.gl, and the control words (stop flag, next wave, lowest
    faulting wave) behind `qlock`.  The executor reaches it as `cfg.interlock`."""

    def __init__(self, locks, qlock, ctl: np.ndarray):
        self.locks, self.qlock, self.ctl = locks, qlock, ctl
        self.wave = -1

    def atomic(self, a: np.ndarray) -> _Held:
        """The locks to hold while applying an atomic at int64 addresses `a` (ascending stripes:
        no deadlock; every global address maps to one stripe: no lost update)."""
        g = a[a >= GLOBAL_BASE] if int(a.min()) < GLOBAL_BASE else a
        if not g.size:
            return _Held(())
        stripes = np.unique((g >> 7) % STRIPES) if g.size > 1 else ((int(g[0]) >> 7) % STRIPES,)
        return _Held([self.locks[int(s)] for s in stripes])

    def fence(self) -> None:
        """A full memory barrier (a lock round trip), for __threadfence()."""
        with self.qlock:
            pass

    def check(self) -> None:
        """Called by the scheduler every 64 steps: stop when asked to or when an earlier wave faulted."""
        ctl = self.ctl
        if ctl[STOP] or self.wave > ctl[FAULT]:
            raise _Stopped

    def take(self, nwaves: int) -> int | None:
        """The next wave to run, or None when there is none left (or the launch is stopping)."""
        ctl = self.ctl
        with self.qlock:
            j = int(ctl[NEXT])
            if ctl[STOP] or j >= nwaves or j > ctl[FAULT]:
                return None
            ctl[NEXT] = j + 1
        self.wave = j
        return j

    def finished(self) -> None:
        """A wave is over (for the launch's progress)."""
        with self.qlock:
            self.ctl[DONE] += 1

    def faulted(self, j: int) -> None:
        with self.qlock:
            self.ctl[FAULT] = min(int(self.ctl[FAULT]), j)


class _Worker:
    """The state of one worker process: memory mapped from the segments, decoded kernels by module."""

    def __init__(self, gname: str, gbytes: int, cname: str, locks, qlock):
        self.segs = (Segment(gname), Segment(cname))
        self.glob = GlobalMemory(gbytes, buffer=self.segs[0].buf)
        self.const = ConstBank(np.frombuffer(self.segs[1].buf, np.uint8, CONST_BYTES))
        ctl = np.frombuffer(self.segs[1].buf, np.int64, CTL_WORDS, CONST_BYTES)
        self.interlock = Interlock(locks, qlock, ctl)
        self.modules: dict[int, tuple] = {}          # uid -> (program, addresses, {name: DecodedKernel})
        self.waves = WaveCache()

    def kernel(self, uid: int, name: str):
        program, addresses, kernels = self.modules[uid]
        if name not in kernels:
            kernels[name] = decode_kernel(program, name, addresses)
        return kernels[name]

    def launch(self, uid, name, cfg, nwaves, wave, gtable, ctable):
        """Run waves until none is left: the summed result (printf records apart), the faults
        (wave, error) and the printf records of each wave (wave, records)."""
        if gtable is not None:
            self.glob.table = gtable
        if ctable is not None:
            self.const.table = ctable
        k = self.kernel(uid, name)
        cfg.interlock = il = self.interlock
        total, faults, prints = new_result(len(k.ops)), [], []
        while (j := il.take(nwaves)) is not None:
            part = new_result(len(k.ops))
            try:
                run_wave(k, cfg, j, wave, self.glob, self.const, part, cache=self.waves)
            except _Stopped:
                pass
            except DeviceError as e:
                faults.append((j, e))
                il.faulted(j)
            except Exception as e:  # noqa: BLE001 - reported as in-process: an internal simulator error
                faults.append((j, DeviceError(f"internal simulator error: {type(e).__name__}: {e}")))
                il.faulted(j)
            prints.append((j, part.printf))
            part.printf = []
            total.merge(part)
            il.finished()
        return total, faults, prints


def _send(conn, obj) -> None:
    conn.send_bytes(obj if isinstance(obj, bytes) else pickle.dumps(obj, pickle.HIGHEST_PROTOCOL))


def _portable(faults):
    """Faults that survive pickling (an error that cannot be pickled keeps its message)."""
    out = []
    for j, e in faults:
        try:
            pickle.dumps(e)
        except Exception:  # noqa: BLE001
            e = _Message(str(e))
        out.append((j, e))
    return out


class _Message(DeviceError):
    """A fault whose original could not be pickled: only its text."""

    def __init__(self, text: str):
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return self.text


def serve(conn, gname: str, gbytes: int, cname: str, locks, qlock) -> None:
    """A worker process's main loop: modules, launches, exit; it leaves when its parent goes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)     # the parent stops launches through the stop flag
    ppid = os.getppid()
    w = _Worker(gname, gbytes, cname, locks, qlock)
    _send(conn, ("ready", os.getpid()))
    while True:
        try:
            if not conn.poll(0.5):
                if os.getppid() != ppid:
                    return
                continue
            msg = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            return
        if msg[0] == "exit":
            return
        if msg[0] == "module":
            _, uid, program, addresses = msg
            w.modules[uid] = (program, addresses, {})
        elif msg[0] == "launch":
            total, faults, prints = w.launch(*msg[1:])
            _send(conn, ("done", total, _portable(faults), prints))


# -- the parent side -------------------------------------------------------------------------------
def start_method() -> str:
    """$VGPU_START_METHOD, else 'fork' (fast) when this process has no other threads, else
    'forkserver' (fork is unsafe in a threaded process: another thread may hold a lock)."""
    m = os.environ.get("VGPU_START_METHOD", "").strip()
    if m:
        if m not in ("fork", "forkserver", "spawn"):
            raise ValueError(f"VGPU_START_METHOD must be fork, forkserver or spawn, not {m!r}")
        return m
    return "fork" if threading.active_count() == 1 else "forkserver"


def _stop_workers(procs: list, conns: list) -> None:
    """Ask the workers to exit, kill those that do not, and forget them."""
    for c in conns:
        try:
            _send(c, ("exit",))
        except (OSError, ValueError):
            pass
    deadline = time.monotonic() + STOP_GRACE
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.kill()
            p.join(STOP_GRACE)
    for c in conns:
        c.close()
    procs.clear()
    conns.clear()


def _shutdown(procs: list, conns: list, segments: list) -> None:
    _stop_workers(procs, conns)
    for seg in segments:
        release_segment(seg)
    segments.clear()


class Pool:
    """The worker processes of one device and the shared segments of its memory.

    `global_buffer` backs the device's GlobalMemory, `const_arena` its constant bank.  Workers
    start at the first `run` and stay; `close()` (also at garbage collection and at exit) stops
    them and unlinks the segments."""

    def __init__(self, workers: int, global_bytes: int):
        self.n = int(workers)
        self.gbytes = -(-global_bytes // 8) * 8
        sweep_segments()                             # what killed processes left behind
        self.segments = [create_segment("global", self.gbytes)]
        try:
            self.segments.append(create_segment("const", CONST_BYTES + CTL_WORDS * 8))
        except BaseException:
            release_segment(self.segments[0])
            raise
        gseg, cseg = self.segments
        self.global_buffer = gseg.buf
        self.const_arena = np.frombuffer(cseg.buf, np.uint8, CONST_BYTES)
        self.ctl = np.frombuffer(cseg.buf, np.int64, CTL_WORDS, CONST_BYTES)
        self.procs: list = []
        self.conns: list = []
        self.known: list[set] = []                   # per worker: module uids it has
        self.tables: list = []                       # per worker: the allocation tables it has
        self.locks = self.qlock = None
        self._finalizer = weakref.finalize(self, _shutdown, self.procs, self.conns, self.segments)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def close(self) -> None:
        self._finalizer()

    # -- workers -----------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the workers (fresh locks: a killed worker may have died holding one)."""
        if self.procs:
            return
        if not self.segments:
            raise RuntimeError("the device is closed")
        method = start_method()
        ctx = get_context(method)
        if method == "forkserver":
            ctx.set_forkserver_preload([__name__])
        self.locks = [ctx.Lock() for _ in range(STRIPES)]
        self.qlock = ctx.Lock()
        gseg, cseg = self.segments
        try:
            for i in range(self.n):
                parent, child = ctx.Pipe()
                p = ctx.Process(target=serve, name=f"vgpu-sm-worker-{i}", daemon=True,
                                args=(child, gseg.name, self.gbytes, cseg.name, self.locks, self.qlock))
                p.start()
                child.close()
                self.procs.append(p)
                self.conns.append(parent)
            for i, c in enumerate(self.conns):
                deadline = time.monotonic() + START_TIMEOUT
                while not c.poll(0.1):
                    if not self.procs[i].is_alive() or time.monotonic() > deadline:
                        raise self._died(i, "while starting")
                pickle.loads(c.recv_bytes())
        except BaseException:
            _stop_workers(self.procs, self.conns)
            raise
        self.known = [set() for _ in range(self.n)]
        self.tables = [(None, None)] * self.n

    def _died(self, i: int, when: str) -> WorkerDied:
        p = self.procs[i]
        p.join(0.2)
        code = p.exitcode
        if code is None:
            how = "stopped answering"
        elif code < 0:
            try:
                how = f"was killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"was killed by signal {-code}"
        else:
            how = f"exited with status {code}"
        return WorkerDied(f"SM worker {i} (pid {p.pid}) {how} {when}",
                          "the worker pool restarts at the next launch; global memory may hold a partial result")

    # -- launches ------------------------------------------------------------------------------------
    def run(self, mod, glob, const, k, cfg, nwaves: int, wave: int, result, progress=None) -> None:
        """Run the `nwaves` waves of a launch on the workers; merge into `result`; raise the fault of
        the lowest faulting wave, WorkerDied, or KeyboardInterrupt (after stopping the workers).
        `progress(waves_done)`, if given, is called while the workers run."""
        if not all(p.is_alive() for p in self.procs):     # one died between launches: start afresh
            _stop_workers(self.procs, self.conns)
        self.start()
        active = range(min(self.n, nwaves))
        ctl = self.ctl
        ctl[STOP], ctl[NEXT], ctl[FAULT], ctl[DONE] = 0, 0, NO_FAULT, 0
        module, sent = None, set()
        try:
            for i in active:
                if mod.uid not in self.known[i]:
                    module = module or pickle.dumps(("module", mod.uid, mod.program, mod.addresses),
                                                    pickle.HIGHEST_PROTOCOL)
                    _send(self.conns[i], module)
                    self.known[i].add(mod.uid)
                has = self.tables[i]
                gt = glob.table if glob.table.starts is not has[0] else None
                ct = const.table if const.table.starts is not has[1] else None
                try:
                    _send(self.conns[i], ("launch", mod.uid, k.name, cfg, nwaves, wave, gt, ct))
                except OSError:
                    raise self._died(i, "before the launch") from None
                sent.add(i)
                self.tables[i] = (glob.table.starts, const.table.starts)
        except BaseException:                        # Ctrl-C or a dead worker while sending
            ctl[STOP] = 1
            self._drain(sent)
            _stop_workers(self.procs, self.conns)
            raise
        replies = self._gather(sent, progress)
        faults = sorted((f for _, fs, _ in replies for f in fs), key=lambda f: f[0])
        first = faults[0][0] if faults else nwaves
        for part, _, prints in replies:              # in-process never runs the waves after a fault
            part.printf = [r for j, recs in prints if j <= first for r in recs]
            result.merge(part)
        if faults:
            raise faults[0][1]

    def _gather(self, pending: set, progress=None) -> list:
        """The replies of the `pending` workers.  A worker that dies, or Ctrl-C, stops the others;
        workers that do not stop within STOP_GRACE are killed (and the pool restarts next time)."""
        replies, dead = [], None
        deadline = None
        try:
            while pending:
                if deadline is not None and time.monotonic() > deadline:
                    break
                waiting = {self.conns[i]: i for i in pending}
                waiting.update({self.procs[i].sentinel: i for i in pending})
                if progress is not None:
                    progress(int(self.ctl[DONE]))
                for obj in connection.wait(list(waiting), timeout=0.25):
                    i = waiting[obj]
                    if i not in pending:
                        continue
                    if obj is self.conns[i] or self.conns[i].poll():
                        try:
                            replies.append(pickle.loads(self.conns[i].recv_bytes())[1:])
                            pending.discard(i)
                            continue
                        except (EOFError, OSError):
                            pass
                    pending.discard(i)
                    if dead is None:
                        dead = self._died(i, "during the launch")
                        self.ctl[STOP] = 1
                        deadline = time.monotonic() + STOP_GRACE
        except BaseException:                        # Ctrl-C: stop the workers, then give up on them
            self.ctl[STOP] = 1
            self._drain(pending)
            raise
        if dead is not None or pending:
            _stop_workers(self.procs, self.conns)
            raise dead or WorkerDied("SM workers did not stop")
        return replies

    def _drain(self, pending: set) -> None:
        """After a stop: wait up to STOP_GRACE for the workers' replies, else kill the pool."""
        deadline = time.monotonic() + STOP_GRACE
        while pending and time.monotonic() < deadline:
            for c in connection.wait([self.conns[i] for i in pending], timeout=0.05):
                i = self.conns.index(c)
                try:
                    c.recv_bytes()
                except (EOFError, OSError):
                    pass
                pending.discard(i)
        if pending:
            _stop_workers(self.procs, self.conns)
