// Greedy decoding's choice on the device, so that a step returns one token id per sequence instead of its
// logits: mirrors Ops.argmaxRows and io.jgpt.ops.Argmax.
#include "common.cuh"

#define NO_INDEX 0x7fffffff

// Whether candidate (v, i) beats (bv, bi): a larger value, or an equal one at a lower index. NaN has been
// mapped to -inf, so every pair compares and the order is total.
__device__ __forceinline__ bool beats(float v, int i, float bv, int bi) {
    return v > bv || (v == bv && i < bi);
}

// The best of a warp's candidates, in lane 0.
__device__ __forceinline__ void warp_best(float& bv, int& bi) {
    for (int o = WARP_SIZE / 2; o > 0; o >>= 1) {
        float ov = __shfl_down_sync(0xffffffffu, bv, o);
        int oi = __shfl_down_sync(0xffffffffu, bi, o);
        if (beats(ov, oi, bv, bi)) {
            bv = ov;
            bi = oi;
        }
    }
}

// out[r] = the index of row r's largest logit (logits (N, V)). One block per row, blockDim a multiple of 32:
// each thread scans its strided elements in index order, then warps and the block reduce the candidates.
extern "C" __global__ void argmax_rows(int* out, const float* logits, int N, int V) {
    __shared__ float values[WARP_SIZE];
    __shared__ int indices[WARP_SIZE];
    int row = blockIdx.x;
    if (row >= N) return; // block-uniform
    const float* x = logits + (size_t)row * V;
    float bv = -INFINITY;
    int bi = NO_INDEX;
    for (int i = threadIdx.x; i < V; i += blockDim.x) {
        float v = x[i];
        if (isnan(v)) v = -INFINITY;
        if (beats(v, i, bv, bi)) {
            bv = v;
            bi = i;
        }
    }
    warp_best(bv, bi);
    int lane = threadIdx.x % WARP_SIZE, warp = threadIdx.x / WARP_SIZE, warps = blockDim.x / WARP_SIZE;
    if (lane == 0) {
        values[warp] = bv;
        indices[warp] = bi;
    }
    __syncthreads();
    if (warp == 0) {
        bv = lane < warps ? values[lane] : -INFINITY;
        bi = lane < warps ? indices[lane] : NO_INDEX;
        warp_best(bv, bi);
        if (lane == 0) out[row] = bi == NO_INDEX ? 0 : bi;
    }
}
