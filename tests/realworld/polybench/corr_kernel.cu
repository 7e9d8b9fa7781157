typedef float DATA_TYPE;
#define FLOAT_N 3214212.01f
#define EPS 0.005f
#define sqrt_of_array_cell(x, j) sqrt(x[j])

__global__ void std_kernel(int m, int n, DATA_TYPE *mean, DATA_TYPE *std, DATA_TYPE *data) {
  int j = blockIdx.x * blockDim.x + threadIdx.x;
  if (j < m) {
    std[j] = 0.0;
    int i;
    for (i = 0; i < n; i++) {
      std[j] += (data[i * m + j] - mean[j]) * (data[i * m + j] - mean[j]);
    }
    std[j] /= (FLOAT_N);
    std[j] = sqrt(std[j]);
    if (std[j] <= EPS) {
      std[j] = 1.0;
    }
  }
}
