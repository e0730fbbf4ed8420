// Bias of a linear layer: mirrors the bias part of Ops.linearForward / Ops.linearBackward.
#include "common.cuh"

// out[n, oc] += bias[oc] over an (N, OC) matrix.
extern "C" __global__ void bias_add(float* out, const float* bias, int N, int OC) {
    GRID_STRIDE(i, (size_t)N * OC) out[i] += bias[i % OC];
}

// sums[c] += sum_n in[n, c]. Block (32, 32): x picks the column within a 32-column tile, y strides over
// rows; the 32 partial sums are added in a fixed order, so the result is deterministic.
extern "C" __global__ void column_sum_accumulate(float* sums, const float* in, int N, int C) {
    __shared__ float part[32][33];
    int c = blockIdx.x * 32 + threadIdx.x;
    float s = 0.0f;
    if (c < C)
        for (int n = threadIdx.y; n < N; n += blockDim.y) s += in[(size_t)n * C + c];
    part[threadIdx.y][threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.y == 0 && c < C) {
        for (int y = 1; y < blockDim.y; y++) s += part[y][threadIdx.x];
        sums[c] += s;
    }
}
