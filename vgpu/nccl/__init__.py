"""vgpu.nccl: NCCL-shaped collectives between virtual GPUs, written as vgpu kernels plus peer copies.

    comm = vgpu.nccl.Communicator(devs)                # rank i = devs[i]
    comm.all_reduce(send, recv, op="sum")              # op: sum prod max min avg; one array per rank
    comm.broadcast(send, recv, root=0); comm.reduce(send, recv, op, root)
    comm.all_gather(send, recv); comm.reduce_scatter(send, recv, op)
    with vgpu.nccl.group():
        comm.send(buf0, peer=1); comm.recv(buf1, peer=0)
    comm.trace                                         # the last call's steps: each copy and kernel
    comm.log[-1].seconds, .algbw, .busbw                # modelled, as nccl-tests report them

An unmatched send or recv raises `DeadlockError` naming the ranks.  docs/multi-gpu.md.
"""
from .communicator import BUS_FACTOR, CollectiveRecord, Communicator
from .group import DeadlockError, group
from .kernels import OPS

__all__ = ["Communicator", "CollectiveRecord", "DeadlockError", "group", "OPS", "BUS_FACTOR"]
