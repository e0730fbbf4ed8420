// Fused causal attention backward (FlashAttention-2's algorithm), fp32 on CUDA cores: mirrors
// Ops.attentionBackward. Probabilities are recomputed from q, k and the forward's log-sum-exp,
// P = exp(s - lse); with delta = rowsum(dout ∘ out), dS = P ∘ (Z ∘ dP - delta) * scale (Z the dropout
// factors). Three kernels, none with atomics, so every gradient element is summed in a fixed order by one
// thread: delta per row; dk, dv with key rows in registers and query tiles streamed; dq with query rows in
// registers and key tiles streamed. Geometry and index maps: flash_attention.cuh.
#include "common.cuh"
#include "flash_attention.cuh"

// delta[bh*T + t] = sum_d dout[b,t,h,d] * out[b,t,h,d]; one warp per (bh, t), blocks of 256 threads.
extern "C" __global__ void flash_attention_backward_delta(float* delta, const float* dout, const float* out,
                                                          int B, int T, int NH, int hs) {
    int lane = threadIdx.x % WARP_SIZE;
    long long row = ((long long)blockIdx.x * blockDim.x + threadIdx.x) / WARP_SIZE;
    if (row >= (long long)B * NH * T) return;
    int t = (int)(row % T), bh = (int)(row / T), b = bh / NH, h = bh % NH;
    float s = 0.0f;
    for (int d = lane; d < hs; d += WARP_SIZE) {
        size_t i = flash_row_index(b, t, h, d, T, NH, hs);
        s = fmaf(dout[i], out[i], s);
    }
    s = warp_sum(s);
    if (lane == 0) delta[row] = s;
}

// dqkv's k and v parts += dk, dv. Grid: B*NH * ceil(T / rows) blocks of FLASH_THREADS threads, rows =
// flash_rows(G) keys each; dynamic shared memory flash_dkdv_shared_bytes(G). Block x covers head
// bh = x / tiles and keys from (x % tiles) * rows; it streams the queries from its first key on.
extern "C" __global__ void flash_attention_backward_dkdv_f32(float* dqkv, const float* dout, const float* qkv,
                                                             const float* lse, const float* delta, int B, int T,
                                                             int NH, int hs, float scale,
                                                             const unsigned long long* dropKey, int threshold,
                                                             float dropScale) {
    const unsigned long long key = dropout_key(dropKey, threshold);
    extern __shared__ float4 flash_shared[];
    const FlashThread f = flash_thread(T, NH, hs, false);
    const int G = f.G, rows = f.rows, padded = f.padded, bh = f.bh, b = f.b, h = f.h, key0 = f.row0, g = f.g;
    const int C = NH * hs, j = f.row;
    float* qs = reinterpret_cast<float*>(flash_shared);
    float* dos = qs + FLASH_QUERY_TILE * padded;
    float* lses = dos + FLASH_QUERY_TILE * padded;
    float* deltas = lses + FLASH_QUERY_TILE;

    float k[FLASH_DIMS_PER_THREAD], v[FLASH_DIMS_PER_THREAD];
    float dk[FLASH_DIMS_PER_THREAD], dv[FLASH_DIMS_PER_THREAD];
    flash_load_row(k, qkv, b, j, 1, h, g, G, T, NH, hs);
    flash_load_row(v, qkv, b, j, 2, h, g, G, T, NH, hs);
#pragma unroll
    for (int d = 0; d < FLASH_DIMS_PER_THREAD; d++) dk[d] = dv[d] = 0.0f;

    for (int i0 = key0; i0 < T; i0 += FLASH_QUERY_TILE) {
        __syncthreads();
        flash_load_tiles(qs, nullptr, qkv, 3 * C, h * hs, 0, b, i0, FLASH_QUERY_TILE, padded, T, hs);
        flash_load_tiles(dos, nullptr, dout, C, h * hs, 0, b, i0, FLASH_QUERY_TILE, padded, T, hs);
        for (int e = threadIdx.x; e < FLASH_QUERY_TILE; e += blockDim.x) {
            bool ok = i0 + e < T;
            lses[e] = ok ? lse[(size_t)bh * T + i0 + e] : 0.0f;
            deltas[e] = ok ? delta[(size_t)bh * T + i0 + e] : 0.0f;
        }
        __syncthreads();
        const bool edge = flash_needs_mask(i0, FLASH_QUERY_TILE, key0, rows, T);
        for (int i = 0; i < FLASH_QUERY_TILE; i++) {
            const int t = i0 + i;
            const float* qrow = qs + i * padded;
            const float* dorow = dos + i * padded;
            float s = flash_row_sum(flash_dot(k, qrow, g, G), G) * scale;
            float p = !edge || flash_visible(t, j, T) ? expf(s - lses[i]) : 0.0f;
            float z = flash_dropout_factor(key, threshold, dropScale, bh, t, j, T);
            flash_axpy(dv, p * z, dorow, g, G);
            float dp = flash_row_sum(flash_dot(v, dorow, g, G), G);
            flash_axpy(dk, p * (dp * z - deltas[i]) * scale, qrow, g, G);
        }
    }
    flash_add_row(dqkv, dk, f, j, 1, T, NH, hs);
    flash_add_row(dqkv, dv, f, j, 2, T, NH, hs);
}

// dqkv's q part += dq. Grid and shared memory as flash_attention_forward_f32 (query tiles, last first).
extern "C" __global__ void flash_attention_backward_dq_f32(float* dqkv, const float* dout, const float* qkv,
                                                           const float* lse, const float* delta, int B, int T,
                                                           int NH, int hs, float scale,
                                                           const unsigned long long* dropKey, int threshold,
                                                           float dropScale) {
    const unsigned long long key = dropout_key(dropKey, threshold);
    extern __shared__ float4 flash_shared[];
    const FlashThread f = flash_thread(T, NH, hs, true);
    const int G = f.G, rows = f.rows, padded = f.padded, bh = f.bh, b = f.b, h = f.h, row0 = f.row0, g = f.g;
    const int C = NH * hs, t = f.row, tv = t < T ? t : T - 1;
    float* ks = reinterpret_cast<float*>(flash_shared);
    float* vs = ks + FLASH_KEY_TILE * padded;

    float q[FLASH_DIMS_PER_THREAD], dO[FLASH_DIMS_PER_THREAD], dq[FLASH_DIMS_PER_THREAD];
    flash_load_row(q, qkv, b, t, 0, h, g, G, T, NH, hs);
#pragma unroll
    for (int i = 0; i < FLASH_CHUNKS; i++)
#pragma unroll
        for (int c = 0; c < 4; c++) {
            int d = flash_dim(g, G, i, c);
            dO[4 * i + c] = t < T && d < hs ? dout[flash_row_index(b, t, h, d, T, NH, hs)] : 0.0f;
            dq[4 * i + c] = 0.0f;
        }
    const float rowLse = lse[(size_t)bh * T + tv], rowDelta = delta[(size_t)bh * T + tv];

    const int keyTiles = flash_key_tiles(row0, rows, T, FLASH_KEY_TILE);
    for (int kt = 0; kt < keyTiles; kt++) {
        const int key0 = kt * FLASH_KEY_TILE;
        __syncthreads();
        flash_load_tiles(ks, vs, qkv, 3 * C, C + h * hs, 2 * C + h * hs, b, key0, FLASH_KEY_TILE, padded, T, hs);
        __syncthreads();
        const bool edge = flash_needs_mask(row0, rows, key0, FLASH_KEY_TILE, T);
        for (int j = 0; j < FLASH_KEY_TILE; j++) {
            const float* krow = ks + j * padded;
            float s = flash_row_sum(flash_dot(q, krow, g, G), G) * scale;
            float p = !edge || flash_visible(tv, key0 + j, T) ? expf(s - rowLse) : 0.0f;
            float dp = flash_row_sum(flash_dot(dO, vs + j * padded, g, G), G);
            float z = flash_dropout_factor(key, threshold, dropScale, bh, tv, key0 + j, T);
            flash_axpy(dq, p * (dp * z - rowDelta) * scale, krow, g, G);
        }
    }
    flash_add_row(dqkv, dq, f, t, 0, T, NH, hs);
}
