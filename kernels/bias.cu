// Bias of a linear layer: mirrors the bias part of Ops.linearForward / Ops.linearBackward.
#include "common.cuh"

// out[n, oc] += bias[oc] over an (N, OC) matrix.
template <typename T> __device__ void bias_add(T* out, const T* bias, int N, int OC) {
    map_elementwise((size_t)N * OC, [=](size_t i, float o) { return o + to_float(bias[i % OC]); }, out, out);
}

// sums[c] += sum_n in[n, c], summed in float. Block (32, 32): x picks the column within a 32-column tile, y
// strides over rows; the 32 partial sums are added in a fixed order, so the result is deterministic.
template <typename T> __device__ void column_sum_accumulate(float* sums, const T* in, int N, int C) {
    __shared__ float part[32][33];
    int c = blockIdx.x * 32 + threadIdx.x;
    float s = 0.0f;
    if (c < C)
        for (int n = threadIdx.y; n < N; n += blockDim.y) s += to_float(in[(size_t)n * C + c]);
    part[threadIdx.y][threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.y == 0 && c < C) {
        for (int y = 1; y < blockDim.y; y++) s += part[y][threadIdx.x];
        sums[c] += s;
    }
}

extern "C" __global__ void bias_add_f32(float* out, const float* bias, int N, int OC) { bias_add(out, bias, N, OC); }
extern "C" __global__ void bias_add_bf16(__nv_bfloat16* out, const __nv_bfloat16* bias, int N, int OC) {
    bias_add(out, bias, N, OC);
}
extern "C" __global__ void column_sum_accumulate_f32(float* sums, const float* in, int N, int C) {
    column_sum_accumulate(sums, in, N, C);
}
extern "C" __global__ void column_sum_accumulate_bf16(float* sums, const __nv_bfloat16* in, int N, int C) {
    column_sum_accumulate(sums, in, N, C);
}
