"""The seed's first snippet: every thread says hello through device printf."""
import vgpu


@vgpu.kernel(grid_dim=(2, 1, 1), block_dim=(4, 1, 1))
def hello(threadIdx, blockIdx, blockDim, gridDim):
    print("Hello from block", blockIdx.x, "thread", threadIdx.x)


def main():
    gpu = vgpu.VirtualGPU(num_sms=2)
    vgpu.VirtualGPU.set_current(gpu)
    hello()
    gpu.synchronize()
    return gpu.get_kernel_log()


if __name__ == "__main__":
    main()
