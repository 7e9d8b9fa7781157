__device__ float d_sum;

__global__ void normalize_weights_kernel(double *weights, int Nparticles, double *partial_sums, double *CDF,
                                         double *u, int *seed) {
  int i = blockDim.x * blockIdx.x + threadIdx.x;
  __shared__ double u1, sumWeights;
  if (0 == threadIdx.x) sumWeights = partial_sums[0];
  __syncthreads();
  if (i < Nparticles) {
    weights[i] = weights[i] / sumWeights;
  }
  __syncthreads();
  if (i == 0) {
    CDF[0] = weights[0];
    for (int x = 1; x < Nparticles; x++) {
      CDF[x] = weights[x] + CDF[x - 1];
    }
    u1 = (1 / ((double)(Nparticles))) * u[0];
  }
  __syncthreads();
  if (i < Nparticles) {
    u[i] = u1 + i / ((double)(Nparticles));
  }
}
