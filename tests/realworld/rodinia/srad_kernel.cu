#define BLOCK_SIZE 16

__global__ void srad_cuda_2(float *E_C, float *W_C, float *N_C, float *S_C, float *J_cuda, float *C_cuda,
                            int cols, int rows, float lambda, float q0sqr) {
  int bx = blockIdx.x;
  int by = blockIdx.y;
  int tx = threadIdx.x;
  int ty = threadIdx.y;
  int index = cols * BLOCK_SIZE * by + BLOCK_SIZE * bx + cols * ty + tx;
  int index_s = cols * BLOCK_SIZE * by + BLOCK_SIZE * bx + cols * BLOCK_SIZE + tx;
  int index_e = cols * BLOCK_SIZE * by + BLOCK_SIZE * bx + cols * ty + BLOCK_SIZE;
  float cc, cn, cs, ce, cw, d_sum;
  __shared__ float south_c[BLOCK_SIZE][BLOCK_SIZE];
  __shared__ float east_c[BLOCK_SIZE][BLOCK_SIZE];
  __shared__ float c_cuda_temp[BLOCK_SIZE][BLOCK_SIZE];
  __shared__ float c_cuda_result[BLOCK_SIZE][BLOCK_SIZE];
  __shared__ float temp[BLOCK_SIZE][BLOCK_SIZE];
  temp[ty][tx] = J_cuda[index];
  __syncthreads();
  south_c[ty][tx] = C_cuda[index_s];
  if (by == gridDim.y - 1) {
    south_c[ty][tx] = C_cuda[cols * BLOCK_SIZE * (gridDim.y - 1) + BLOCK_SIZE * bx + cols * (BLOCK_SIZE - 1) + tx];
  }
  __syncthreads();
  east_c[ty][tx] = C_cuda[index_e];
  if (bx == gridDim.x - 1) {
    east_c[ty][tx] = C_cuda[cols * BLOCK_SIZE * by + BLOCK_SIZE * (gridDim.x - 1) + cols * ty + BLOCK_SIZE - 1];
  }
  __syncthreads();
  c_cuda_temp[ty][tx] = C_cuda[index];
  __syncthreads();
  cc = c_cuda_temp[ty][tx];
  if (ty == BLOCK_SIZE - 1 && tx == BLOCK_SIZE - 1) {
    cn = cc;
    cs = south_c[ty][tx];
    cw = cc;
    ce = east_c[ty][tx];
  } else if (tx == BLOCK_SIZE - 1) {
    cn = cc;
    cs = c_cuda_temp[ty + 1][tx];
    cw = cc;
    ce = east_c[ty][tx];
  } else if (ty == BLOCK_SIZE - 1) {
    cn = cc;
    cs = south_c[ty][tx];
    cw = cc;
    ce = c_cuda_temp[ty][tx + 1];
  } else {
    cn = cc;
    cs = c_cuda_temp[ty + 1][tx];
    cw = cc;
    ce = c_cuda_temp[ty][tx + 1];
  }
  d_sum = cn * N_C[index] + cs * S_C[index] + cw * W_C[index] + ce * E_C[index];
  c_cuda_result[ty][tx] = temp[ty][tx] + 0.25 * lambda * d_sum;
  __syncthreads();
  J_cuda[index] = c_cuda_result[ty][tx];
}
