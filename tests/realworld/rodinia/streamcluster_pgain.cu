typedef struct {
  float weight;
  long assign;
  float cost;
} Point_Struct;

__global__ void kernel_compute_cost(int num, int dim, long x, Point_Struct *p, int K, int stride, float *coord_d,
                                    float *work_mem_d, int *center_table_d, bool *switch_membership_d) {
  const int bid = blockIdx.x + gridDim.x * blockIdx.y;
  const int tid = blockDim.x * bid + threadIdx.x;
  if (tid < num) {
    float *lower = &work_mem_d[tid * stride];
    float x_cost = 0.0;
    for (int i = 0; i < dim; i++) {
      float tmp = coord_d[(i * num) + tid] - coord_d[(i * num) + x];
      x_cost += tmp * tmp;
    }
    x_cost = x_cost * p[tid].weight;
    float current_cost = p[tid].cost;
    if (x_cost < current_cost) {
      switch_membership_d[tid] = 1;
      lower[K] += x_cost - current_cost;
    } else {
      int assign = p[tid].assign;
      lower[center_table_d[assign]] += current_cost - x_cost;
    }
  }
}
