"""A device in a process of its own: its simulator, memory and SM workers live there, driven over a
pipe with the same calls a local `SimDevice` takes.

In:  `vgpu.Device(process=True, ...)` (or `vgpu.devices(n, process=True)`): the Device's
     configuration, sent to the new process.
Out: `RemoteSim`, the Device's backend: malloc/free/read/write/memset/load/launch become messages
     (pickled tuples) over a `multiprocessing` pipe; `message_log` records each one (direction,
     operation, bytes).  A peer copy between two such devices goes device to device: this process
     sends the source a small 'push', and the source sends the bytes to the destination over a
     socket of their own (`=> peer gpu0->gpu1` in both devices' logs); nothing large crosses this process.

The device process ends with `close()`, when the Device is collected, when this process exits, and
when this process dies without a word (the pipe reaches EOF, or its parent process changes): it
never outlives the program.  Its own SM workers watch it the same way.
"""
from __future__ import annotations

import collections
import os
import pickle
import secrets
import signal
import threading
import time
from dataclasses import dataclass
from multiprocessing import get_context, util
from multiprocessing.connection import Client, Listener

from ..sim.faults import DeviceError

LOG_LIMIT = 100_000         # messages kept in message_log (the oldest are dropped)
_AUTHKEY = secrets.token_bytes(16)   # the device processes of this program accept peer copies only from each other
START_TIMEOUT = 60.0
POLL = 0.5


class DeviceLost(DeviceError):
    """A device's process or cluster worker is gone (killed, crashed, disconnected)."""
    title = "device lost"


@dataclass(frozen=True)
class Message:
    """One message on a device's pipe: '->' to the device process, '<-' back; op; pickled bytes."""
    direction: str
    op: str
    nbytes: int

    def __str__(self) -> str:
        return f"{self.direction} {self.op:<7} {self.nbytes:>10} B"


def _portable(e: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(e))
        return e
    except Exception:  # noqa: BLE001 - an error that cannot travel keeps its text
        return RuntimeError(f"{type(e).__name__}: {e}")


def _on_parent_death() -> None:
    """Linux: ask for SIGTERM when the parent dies (the poll loop also notices within POLL seconds)."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)    # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _serve(conn, other_end, config: dict, authkey: bytes) -> None:
    """The device process: answer messages until 'close', EOF, or the parent is gone.  Other device
    processes of the same program connect to its peer listener to write into its memory."""
    if other_end is not None:
        other_end.close()
    ppid = os.getppid()
    _on_parent_death()
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(SystemExit(0)))
    from ..sim import SimDevice
    sim = listener = None
    peers: dict[str, object] = {}
    try:
        sim = SimDevice(**config)
        lock = threading.Lock()
        address = f"\0vgpu-device-{os.getpid()}-{secrets.token_hex(6)}"     # abstract: no file to leave
        listener = Listener(address, family="AF_UNIX", authkey=authkey)
        threading.Thread(target=_accept, args=(listener, sim, lock), daemon=True).start()
        conn.send_bytes(pickle.dumps(("ok", (sim.workers, address))))
        loaded: dict[int, object] = {}
        while True:
            if not conn.poll(POLL):
                if os.getppid() != ppid:
                    return
                continue
            try:
                msg = pickle.loads(conn.recv_bytes())
            except (EOFError, OSError):
                return
            op = msg[0]
            try:
                with lock:
                    if op == "close":
                        conn.send_bytes(pickle.dumps(("ok", None)))
                        return
                    if op == "load":
                        mod = sim.load(msg[2])
                        loaded[msg[1]] = mod
                        out = (mod.addresses, mod.sizes)
                    elif op == "launch":
                        key, kernel, args, kw = msg[1:]
                        out = sim.launch(loaded[key], kernel, args, **kw)
                    elif op == "push":
                        dst, addr, nbytes, dst_addr = msg[1:]
                        data = sim.read(addr, nbytes)
                    else:
                        out = getattr(sim, op)(*msg[1:])
                if op == "push":                      # outside the lock: the peer may be writing to us
                    out = _push(peers, dst, authkey, dst_addr, data)
                reply = ("ok", out)
            except BaseException as e:  # noqa: BLE001 - every fault goes back to the caller
                reply = ("err", _portable(e))
            conn.send_bytes(pickle.dumps(reply, pickle.HIGHEST_PROTOCOL))
    except SystemExit:
        return
    finally:
        if listener is not None:
            listener.close()
        if sim is not None:
            sim.close()


def _push(peers: dict, address: str, authkey: bytes, dst_addr: int, data: bytes) -> int:
    """Send `data` to the device process listening at `address` (connection kept for the next time)."""
    c = peers.get(address)
    if c is None:
        c = peers[address] = Client(address, family="AF_UNIX", authkey=authkey)
    try:
        c.send_bytes(pickle.dumps(("write", dst_addr, data), pickle.HIGHEST_PROTOCOL))
        status, out = pickle.loads(c.recv_bytes())
    except (EOFError, OSError):
        peers.pop(address, None)
        raise ConnectionError("the destination device process did not answer a peer copy") from None
    if status == "err":
        raise out
    return len(data)


def _accept(listener, sim, lock) -> None:
    while True:
        try:
            c = listener.accept()
        except (OSError, EOFError):
            return                                    # closed, or a connection without the key
        threading.Thread(target=_peer, args=(c, sim, lock), daemon=True).start()


def _peer(c, sim, lock) -> None:
    """Writes from another device process (peer copies), until it hangs up."""
    while True:
        try:
            _, addr, data = pickle.loads(c.recv_bytes())
        except (EOFError, OSError):
            return
        try:
            with lock:
                sim.write(addr, data)
            reply = ("ok", None)
        except BaseException as e:  # noqa: BLE001 - the fault goes back to the sender
            reply = ("err", _portable(e))
        c.send_bytes(pickle.dumps(reply))


def _stop(proc, conn) -> None:
    try:
        conn.send_bytes(pickle.dumps(("close",)))
        if conn.poll(5.0):
            conn.recv_bytes()
    except (OSError, EOFError, ValueError):
        pass
    proc.join(5.0)
    if proc.is_alive():
        proc.kill()
        proc.join(5.0)
    conn.close()


class RemoteLoaded:
    """A program loaded in a device process: its symbols' addresses there."""

    def __init__(self, key: int, program, addresses: dict, sizes: dict):
        self.key, self.program, self.addresses, self.sizes = key, program, addresses, sizes

    @property
    def kernel_names(self) -> list[str]:
        return list(self.program.kernels)

    def symbol_address(self, name: str) -> int:
        return self.addresses[name]

    def symbol_size(self, name: str) -> int:
        return self.sizes[name]


class CallSim:
    """The SimDevice API over `self._call(op, *args, nbytes=...)`: what RemoteSim (a device process) and
    vgpu.cluster's DaskSim (a Dask actor) share.  `lives` says where the device is, for errors."""

    is_remote = True
    lives = "lives in another process"

    def malloc(self, nbytes: int) -> int:
        return self._call("malloc", int(nbytes))

    def free(self, addr: int) -> None:
        self._call("free", int(addr))

    def write(self, addr: int, data) -> None:
        data = data if isinstance(data, bytes) else bytes(memoryview(data).cast("B"))
        self._call("write", int(addr), data, nbytes=len(data))

    def read(self, addr: int, nbytes: int) -> bytes:
        return self._call("read", int(addr), int(nbytes))

    def memset(self, addr: int, value: int, nbytes: int) -> None:
        self._call("memset", int(addr), int(value), int(nbytes))

    def view(self, addr: int, dtype, count: int):
        raise TypeError(f"device {self.name} {self.lives}: read() and write() its memory, "
                        "a view cannot cross processes")

    def load(self, program) -> RemoteLoaded:
        self._keys += 1
        addresses, sizes = self._call("load", self._keys, program)
        return RemoteLoaded(self._keys, program, addresses, sizes)

    def launch(self, mod: RemoteLoaded, kernel: str, args, grid=(1, 1, 1), block=(1, 1, 1), shared: int = 0,
               check=None, trace=None, progress=None):
        """progress: called once, when the launch is over (the blocks run elsewhere)."""
        if trace is not None:
            raise ValueError(f"device {self.name} {self.lives}: trace a launch on a local device")
        out = self._call("launch", mod.key, kernel, args,
                         dict(grid=grid, block=block, shared=shared, check=check))
        if progress is not None:
            blocks = 1
            for g in grid:
                blocks *= int(g)
            progress(blocks, blocks)
        return out


class RemoteSim(CallSim):
    """The SimDevice API, served by a device process (see the module docstring)."""

    where = "process=True"

    def __init__(self, config: dict, name: str = "device"):
        from ..sim.pool import start_method
        self.name = name
        self.message_log: collections.deque = collections.deque(maxlen=LOG_LIMIT)
        ctx = get_context(start_method())
        parent, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, name=f"vgpu-device-{name}", daemon=False,
                                args=(child, parent if ctx.get_start_method() == "fork" else None, config, _AUTHKEY))
        self.proc.start()
        child.close()
        self.conn = parent
        self._finalizer = util.Finalize(self, _stop, args=(self.proc, self.conn), exitpriority=20)
        self._keys = 0
        self.lost = ""
        deadline = time.monotonic() + START_TIMEOUT
        while not self.conn.poll(0.1):
            if not self.proc.is_alive() or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"device process {name} did not start (exit code {self.proc.exitcode})")
        status, (self.workers, self.address) = pickle.loads(self.conn.recv_bytes())

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _call(self, op: str, *args, nbytes: int = 0):
        if self.lost:
            raise DeviceLost(f"device {self.name} was stopped: {self.lost}")
        if self.conn.closed:
            raise RuntimeError(f"device {self.name} is closed")
        data = pickle.dumps((op,) + args, pickle.HIGHEST_PROTOCOL)
        self.message_log.append(Message("->", op, len(data)))
        try:
            self.conn.send_bytes(data)
            while not self.conn.poll(POLL):
                if not self.proc.is_alive():
                    raise EOFError
            raw = self.conn.recv_bytes()
        except (EOFError, OSError):
            self.lost = f"its process (pid {self.proc.pid}) died (exit code {self.proc.exitcode})"
            raise DeviceLost(f"the process of device {self.name} (pid {self.proc.pid}) died "
                             f"(exit code {self.proc.exitcode})") from None
        except BaseException:
            # interrupted (Ctrl-C) while the device works: its answer would come to the next call,
            # so the device is stopped rather than left out of step
            self.lost = f"a '{op}' call was interrupted"
            self.proc.terminate()             # SIGTERM: the device process frees its memory and workers
            self.proc.join(2.0)
            self.close()
            raise
        self.message_log.append(Message("<-", op, len(raw)))
        status, out = pickle.loads(raw)
        if status == "err":
            raise out
        return out

    def push_to(self, dst, addr: int, nbytes: int, dst_addr: int) -> bool:
        """A peer copy straight to another device process (over its own socket); False if `dst` is not one."""
        if not isinstance(dst, RemoteSim):
            return False
        self._call("push", dst.address, int(addr), int(nbytes), int(dst_addr))
        m = Message("=>", f"peer {self.name}->{dst.name}", int(nbytes))
        self.message_log.append(m)
        dst.message_log.append(m)
        return True

    def close(self) -> None:
        self._finalizer()
