// Sum of squares of one tensor (Ops.sumOfSquares: the finite-weights check before a checkpoint).
#include "common.cuh"

// partials[blockIdx.x] = sum of x^2 over this block's grid-stride share, squared and summed in double.
// Launch with a fixed grid and blockDim.x a multiple of 32: results do not depend on timing.
template <typename T> __device__ void sum_squares_partial(double* partials, const T* x, size_t n) {
    __shared__ double scratch[WARP_SIZE];
    double s = 0.0;
    GRID_STRIDE(i, n) {
        double v = to_float(x[i]);
        s += v * v;
    }
    s = block_sum_double(s, scratch);
    if (threadIdx.x == 0) partials[blockIdx.x] = s;
}

// out[0] = sum of partials[0..n), one block, fixed order.
extern "C" __global__ void sum_partials(double* out, const double* partials, int n) {
    __shared__ double scratch[WARP_SIZE];
    double s = 0.0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) s += partials[i];
    s = block_sum_double(s, scratch);
    if (threadIdx.x == 0) out[0] = s;
}

extern "C" __global__ void sum_squares_partial_f32(double* partials, const float* x, size_t n) {
    sum_squares_partial(partials, x, n);
}
extern "C" __global__ void sum_squares_partial_bf16(double* partials, const __nv_bfloat16* x, size_t n) {
    sum_squares_partial(partials, x, n);
}
