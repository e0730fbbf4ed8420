// Inference attention with a key/value cache: mirrors Ops.attentionCached.
#include "common.cuh"

// New token (b, t) sits at position positions[b*Tn + t] of sequence b. A position outside [0, maxKeys), where
// maxKeys = min(L, maskT), marks nothing written and a zero output row: the positions are device data (a
// replayed graph reads whatever was staged), so a bad one must not reach memory outside the caches.
__device__ __forceinline__ bool position_fits(int p, int maxKeys) {
    return p >= 0 && p < maxKeys;
}

// Copies the keys and values of the new tokens from qkv (B,Tn,3C) into the caches (B,NH,L,hs), each at the
// row of its position in every head.
extern "C" __global__ void kv_cache_write(float* kCache, float* vCache, const float* qkv, const int* positions,
                                          int B, int Tn, int NH, int hs, int L, int maxKeys) {
    int C = NH * hs;
    GRID_STRIDE(i, (size_t)B * Tn * C) {
        int c = (int)(i % C);
        size_t bt = i / C;
        int b = (int)(bt / Tn);
        int p = positions[bt];
        if (!position_fits(p, maxKeys)) continue;
        int h = c / hs, d = c % hs;
        size_t src = bt * 3 * C + C + c;
        size_t dst = (((size_t)b * NH + h) * L + p) * hs + d;
        kCache[dst] = qkv[src];
        vCache[dst] = qkv[src + C];
    }
}

// One block per query row (b, h, t), rows ordered ((b*NH + h)*Tn + t). Dynamic shared memory holds the
// query (hs floats) and its scores against the p+1 visible cache rows, room for maxKeys of them being sized
// by the launcher (a recorded graph serves every position). Scores are computed one key per warp (lanes
// split the head, so key rows are read coalesced), then block-wide max and sum give the softmax, then each
// thread sums p_j v_j for its output channels.
extern "C" __global__ void attention_cached(float* out, const float* qkv, const float* kCache,
                                            const float* vCache, const void* mask, int maskIsInt, int maskT,
                                            const int* positions, int B, int Tn, int NH, int hs, int L,
                                            float scale) {
    extern __shared__ float smem[];
    __shared__ float reduce[WARP_SIZE];
    int row = blockIdx.x;
    if (row >= B * NH * Tn) return; // block-uniform, so no barrier is skipped by part of a block
    int t = row % Tn, bh = row / Tn;
    int h = bh % NH, b = bh / NH;
    int C = NH * hs;
    int p = positions[b * Tn + t];
    float* outRow = out + ((size_t)b * Tn + t) * C + h * hs;
    if (!position_fits(p, min(L, maskT))) { // block-uniform too
        for (int d = threadIdx.x; d < hs; d += blockDim.x) outRow[d] = 0.0f;
        return;
    }
    int keys = p + 1;
    float* q = smem;
    float* scores = smem + hs;
    const float* kHead = kCache + (size_t)bh * L * hs;
    const float* vHead = vCache + (size_t)bh * L * hs;
    const float* qRow = qkv + ((size_t)b * Tn + t) * 3 * C + h * hs;
    for (int d = threadIdx.x; d < hs; d += blockDim.x) q[d] = qRow[d];
    __syncthreads();

    int lane = threadIdx.x % WARP_SIZE, warp = threadIdx.x / WARP_SIZE, warps = blockDim.x / WARP_SIZE;
    for (int j = warp; j < keys; j += warps) {
        bool m = masked(mask, maskIsInt, maskT, p, j); // the same for the whole warp
        float s = 0.0f;
        if (!m)
            for (int d = lane; d < hs; d += WARP_SIZE) s += q[d] * kHead[(size_t)j * hs + d];
        s = warp_sum(s);
        if (lane == 0) scores[j] = m ? -INFINITY : s * scale;
    }
    __syncthreads();

    float mx = -INFINITY;
    for (int j = threadIdx.x; j < keys; j += blockDim.x) mx = fmaxf(mx, scores[j]);
    mx = block_max(mx, reduce);
    if (mx == -INFINITY) mx = 0.0f; // fully masked row (never with a causal mask): all weights 0, not NaN
    float sum = 0.0f;
    for (int j = threadIdx.x; j < keys; j += blockDim.x) {
        float e = expf(scores[j] - mx); // masked keys: expf(-inf) == 0
        scores[j] = e;
        sum += e;
    }
    sum = block_sum(sum, reduce); // its barriers also publish every thread's scores[j] = e
    float inv = sum > 0.0f ? 1.0f / sum : 0.0f;

    for (int d = threadIdx.x; d < hs; d += blockDim.x) {
        float acc = 0.0f;
        for (int j = 0; j < keys; j++) acc += scores[j] * vHead[(size_t)j * hs + d];
        outRow[d] = acc * inv;
    }
}
