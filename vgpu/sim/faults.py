"""Device faults: the one exception family the simulator raises.

In:  a fault detected anywhere in the simulator (memory checks, barriers, warp-sync checks, the
     watchdog, launch validation), first with what the detecting code knows (what went wrong, the
     address and access size, the lane), then located by the executor (kernel, `.vk` file:line and
     the source line, block and thread).
Out: `DeviceError` subclasses whose `str()` reads

    out of bounds: global load of 4 bytes at 0x100000400
      in kernel 'vector_add' at vadd.vk:7
          c[i] = a[i] + b[i];
      instruction pc 12: ld.global.f32 %f1, [%rd4]
      block (3,0,0), thread (0,0,0)
      0x100000400 is 0 bytes past the end of a 1024-byte allocation at 0x100000000
"""
from __future__ import annotations


class DeviceError(Exception):
    """A fault on the simulated device.  Attributes: kernel, file, line, block, thread, address, size."""
    title = "device fault"

    def __init__(self, what: str, note: str = "", *, lane: int | None = None,
                 address: int | None = None, size: int | None = None):
        self.what, self.note = what, note
        self.lane = lane                    # index of the faulting lane in the executing wave
        self.address, self.size = address, size
        self.kernel: str | None = None
        self.file: str | None = None
        self.line: int | None = None
        self.source_line: str | None = None
        self.block: tuple[int, int, int] | None = None
        self.thread: tuple[int, int, int] | None = None
        self.instruction: str | None = None     # 'pc 12: ld.global.f32 %f1, [%rd4]'
        super().__init__(what)

    def locate(self, kernel: str | None = None, file: str | None = None, line: int | None = None,
               source_line: str | None = None, block=None, thread=None,
               instruction: str | None = None) -> "DeviceError":
        """Fill in where the fault happened (only what is still unknown); returns self."""
        for name, value in (("kernel", kernel), ("file", file), ("line", line), ("source_line", source_line),
                            ("block", block), ("thread", thread), ("instruction", instruction)):
            if getattr(self, name) is None and value is not None:
                setattr(self, name, value)
        self.args = (str(self),)
        return self

    def __str__(self) -> str:
        out = [f"{self.title}: {self.what}"]
        if self.kernel is not None:
            where = f"  in kernel '{self.kernel}'"
            if self.file is not None:
                where += f" at {self.file}:{self.line}" if self.line else f" in {self.file}"
            out.append(where)
            if self.source_line:
                out.append("      " + self.source_line.strip())
            if self.instruction:
                out.append(f"  instruction {self.instruction}")
        if self.block is not None:
            who = "  block ({},{},{})".format(*self.block)
            if self.thread is not None:
                who += ", thread ({},{},{})".format(*self.thread)
            out.append(who)
        if self.note:
            out.append("  " + self.note)
        return "\n".join(out)


class OutOfBounds(DeviceError):
    title = "out of bounds"


class Misaligned(DeviceError):
    title = "misaligned address"


class UseAfterFree(DeviceError):
    title = "use after free"


class InvalidFree(DeviceError):
    title = "invalid free"


class OutOfMemory(DeviceError):
    title = "out of memory"


class BarrierDeadlock(DeviceError):
    title = "barrier deadlock"


class WarpSyncError(DeviceError):
    title = "warp synchronisation error"


class Watchdog(DeviceError):
    title = "watchdog"


class Trap(DeviceError):
    title = "trap"


class InvalidLaunch(DeviceError):
    title = "invalid launch"


class WorkerDied(DeviceError):
    """An SM worker process died during a launch (killed, out of memory); the pool restarts."""
    title = "SM worker died"


class Unsupported(DeviceError):
    """An instruction form the simulator does not implement (a bug in the compiler or hand-written assembly)."""
    title = "unsupported instruction"
