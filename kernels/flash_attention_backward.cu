// Fused causal attention backward (FlashAttention-2's algorithm), fp32 on CUDA cores and bf16 on tensor cores
// (at the end): mirrors Ops.attentionBackward. Probabilities are recomputed from q, k and the forward's log-sum-exp,
// P = exp(s - lse); with delta = rowsum(dout ∘ out), dS = P ∘ (Z ∘ dP - delta) * scale (Z the dropout
// factors). Three kernels per storage type, none with atomics, so every gradient element is summed in a fixed order by one
// thread: delta per row; dk, dv with key rows in registers and query tiles streamed; dq with query rows in
// registers and key tiles streamed. Geometry and index maps: flash_attention.cuh.
#include "common.cuh"
#include "flash_attention.cuh"
#include "storage.cuh"

// delta[bh*T + t] = sum_d dout[b,t,h,d] * out[b,t,h,d] (in fp32 for either storage); one warp per (bh, t),
// blocks of 256 threads.
template <typename S>
__device__ __forceinline__ void flash_delta(float* delta, const S* dout, const S* out, int B, int T, int NH, int hs) {
    int lane = threadIdx.x % WARP_SIZE;
    long long row = ((long long)blockIdx.x * blockDim.x + threadIdx.x) / WARP_SIZE;
    if (row >= (long long)B * NH * T) return;
    int t = (int)(row % T), bh = (int)(row / T), b = bh / NH, h = bh % NH;
    float s = 0.0f;
    for (int d = lane; d < hs; d += WARP_SIZE) {
        size_t i = flash_row_index(b, t, h, d, T, NH, hs);
        s = fmaf(to_float(dout[i]), to_float(out[i]), s);
    }
    s = warp_sum(s);
    if (lane == 0) delta[row] = s;
}

extern "C" __global__ void flash_attention_backward_delta_f32(float* delta, const float* dout, const float* out,
                                                              int B, int T, int NH, int hs) {
    flash_delta(delta, dout, out, B, T, NH, hs);
}
extern "C" __global__ void flash_attention_backward_delta_bf16(float* delta, const __nv_bfloat16* dout,
                                                               const __nv_bfloat16* out, int B, int T, int NH, int hs) {
    flash_delta(delta, dout, out, B, T, NH, hs);
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

// ---- bf16 storage on tensor cores ------------------------------------------------------------------------
// The same two kernels (after flash_attention_backward_delta_bf16) with q, k, v, dout and dqkv in bf16, lse and
// delta fp32, hs <= 64, every product on mma.sync m16n8k16 with fp32 accumulation (flash_attention_mma.cuh), the
// geometry of the bf16 forward: warps of 16 rows, blocks of 64, 64-row tiles streamed through shared memory. The
// probabilities P (times the dropout factors, for dv) and dS / scale are rounded to bf16 where they become A
// operands, straight from the score accumulators; dq, dk and dv stay fp32 in registers until the one rounding of
// dqkv + scale * (their sum) (dv unscaled) at the end, so the += contract rounds once, like Bf16Storage.
#include "flash_attention_mma.cuh"

// dqkv's k and v parts += dk, dv. Each warp owns 16 keys and computes the transposed products, keys as rows:
// S^T = k q^T and dP^T = v dout^T against each 64-query tile from the block's first key on, then
// dv += (P o Z)^T dout and dk += dS^T q. Grid: B*NH * ceil(T / 64) blocks of 128 threads; block x covers head
// bh = x / tiles and keys from (x % tiles) * 64, the longest query streams first.
extern "C" __global__ void flash_attention_backward_dkdv_bf16(__nv_bfloat16* dqkv, const __nv_bfloat16* dout,
                                                              const __nv_bfloat16* qkv, const float* lse,
                                                              const float* delta, int B, int T, int NH, int hs,
                                                              float scale, const unsigned long long* dropKey, int threshold,
                                                              float dropScale) {
    const unsigned long long key = dropout_key(dropKey, threshold);
    __shared__ __align__(16) __nv_bfloat16 qs[FLASH_MMA_TILE];  // q rows of the query tile (first the k rows)
    __shared__ __align__(16) __nv_bfloat16 dos[FLASH_MMA_TILE]; // dout rows of the query tile (first the v rows)
    __shared__ float lses[FLASH_MMA_ROWS], deltas[FLASH_MMA_ROWS];
    static_assert(sizeof(qs) + sizeof(dos) + sizeof(lses) + sizeof(deltas) == flash_mma_dkdv_shared_bytes(),
                  "shared memory as declared");
    const int C = NH * hs, tiles = flash_ceil_div(T, FLASH_MMA_ROWS);
    const int bh = blockIdx.x / tiles, b = bh / NH, h = bh % NH, key0 = (blockIdx.x % tiles) * FLASH_MMA_ROWS;
    const int lane = threadIdx.x % WARP_SIZE, warp = threadIdx.x / WARP_SIZE, wkey0 = key0 + 16 * warp;
    int j[2]; // this lane's two keys (accumulator rows)
    for (int r = 0; r < 2; r++) j[r] = wkey0 + mma_c_row(lane, 2 * r);

    flash_mma_load(qs, qkv, 3 * C, C + h * hs, b, key0, T, hs);
    flash_mma_load(dos, qkv, 3 * C, 2 * C + h * hs, b, key0, T, hs);
    __syncthreads();
    uint32_t ka[FLASH_MMA_HEAD / 16][4], va[FLASH_MMA_HEAD / 16][4];
    flash_mma_a_rows(ka, qs, 16 * warp, lane);
    flash_mma_a_rows(va, dos, 16 * warp, lane);

    float dk[FLASH_MMA_HEAD / 8][4] = {}, dv[FLASH_MMA_HEAD / 8][4] = {};
    for (int i0 = key0; i0 < T; i0 += FLASH_MMA_ROWS) {
        __syncthreads();
        flash_mma_load(qs, qkv, 3 * C, h * hs, b, i0, T, hs);
        flash_mma_load(dos, dout, C, h * hs, b, i0, T, hs);
        for (int e = threadIdx.x; e < FLASH_MMA_ROWS; e += blockDim.x) {
            bool ok = i0 + e < T;
            lses[e] = ok ? lse[(size_t)bh * T + i0 + e] : 0.0f;
            deltas[e] = ok ? delta[(size_t)bh * T + i0 + e] : 0.0f;
        }
        __syncthreads();

        float s[FLASH_MMA_ROWS / 8][4] = {}, dp[FLASH_MMA_ROWS / 8][4] = {}; // keys x queries
        flash_mma_times_rows(s, ka, qs, lane);
        flash_mma_times_rows(dp, va, dos, lane);
        const bool edge = flash_needs_mask(i0, FLASH_MMA_ROWS, wkey0, 16, T);
#pragma unroll
        for (int n = 0; n < FLASH_MMA_ROWS / 8; n++)
#pragma unroll
            for (int i = 0; i < 4; i++) {
                const int c = 8 * n + mma_c_col(lane, i), t = i0 + c, jj = j[i / 2];
                float p = !edge || flash_visible(t, jj, T) ? expf(s[n][i] * scale - lses[c]) : 0.0f;
                float z = flash_dropout_factor(key, threshold, dropScale, bh, t, jj, T);
                s[n][i] = p * z;
                dp[n][i] = p * (dp[n][i] * z - deltas[c]);
            }
        uint32_t a[FLASH_MMA_ROWS / 16][4];
        flash_mma_c_to_a(a, s);
        flash_mma_times_tile(dv, a, dos, lane);
        flash_mma_c_to_a(a, dp);
        flash_mma_times_tile(dk, a, qs, lane);
    }
#pragma unroll
    for (int n = 0; n < FLASH_MMA_HEAD / 8; n++)
#pragma unroll
        for (int i = 0; i < 4; i++) {
            const int d = 8 * n + mma_c_col(lane, i), jj = j[i / 2];
            if (jj >= T || d >= hs) continue;
            size_t at = flash_qkv_index(b, jj, 1, h, d, T, NH, hs), av = flash_qkv_index(b, jj, 2, h, d, T, NH, hs);
            dqkv[at] = __float2bfloat16(__bfloat162float(dqkv[at]) + dk[n][i] * scale);
            dqkv[av] = __float2bfloat16(__bfloat162float(dqkv[av]) + dv[n][i]);
        }
}

// dqkv's q part += dq. Each warp owns 16 queries: S = q k^T and dP = dout v^T against each key tile up to the
// diagonal, then dq += dS k. Grid as flash_attention_forward_bf16 (query tiles, last first).
extern "C" __global__ void flash_attention_backward_dq_bf16(__nv_bfloat16* dqkv, const __nv_bfloat16* dout,
                                                            const __nv_bfloat16* qkv, const float* lse,
                                                            const float* delta, int B, int T, int NH, int hs,
                                                            float scale, const unsigned long long* dropKey, int threshold,
                                                            float dropScale) {
    const unsigned long long key = dropout_key(dropKey, threshold);
    __shared__ __align__(16) __nv_bfloat16 ks[FLASH_MMA_TILE]; // k rows of the key tile (first the q rows)
    __shared__ __align__(16) __nv_bfloat16 vs[FLASH_MMA_TILE]; // v rows of the key tile (first the dout rows)
    static_assert(sizeof(ks) + sizeof(vs) == flash_mma_dq_shared_bytes(), "shared memory as declared");
    const int C = NH * hs, tiles = flash_ceil_div(T, FLASH_MMA_ROWS);
    const int bh = blockIdx.x / tiles, b = bh / NH, h = bh % NH;
    const int row0 = flash_reversed_tile(blockIdx.x % tiles, tiles) * FLASH_MMA_ROWS;
    const int lane = threadIdx.x % WARP_SIZE, warp = threadIdx.x / WARP_SIZE, wrow0 = row0 + 16 * warp;
    int t[2], tv[2]; // this lane's two queries, clamped into the sequence for masking and the row statistics
    float rowLse[2], rowDelta[2];
    for (int r = 0; r < 2; r++) {
        t[r] = wrow0 + mma_c_row(lane, 2 * r);
        tv[r] = t[r] < T ? t[r] : T - 1;
        rowLse[r] = lse[(size_t)bh * T + tv[r]];
        rowDelta[r] = delta[(size_t)bh * T + tv[r]];
    }

    flash_mma_load(ks, qkv, 3 * C, h * hs, b, row0, T, hs);
    flash_mma_load(vs, dout, C, h * hs, b, row0, T, hs);
    __syncthreads();
    uint32_t qa[FLASH_MMA_HEAD / 16][4], oa[FLASH_MMA_HEAD / 16][4];
    flash_mma_a_rows(qa, ks, 16 * warp, lane);
    flash_mma_a_rows(oa, vs, 16 * warp, lane);

    float dq[FLASH_MMA_HEAD / 8][4] = {};
    const int keyTiles = flash_key_tiles(row0, FLASH_MMA_ROWS, T, FLASH_MMA_KEY_TILE);
    for (int kt = 0; kt < keyTiles; kt++) {
        const int key0 = kt * FLASH_MMA_KEY_TILE;
        __syncthreads();
        flash_mma_load(ks, qkv, 3 * C, C + h * hs, b, key0, T, hs);
        flash_mma_load(vs, qkv, 3 * C, 2 * C + h * hs, b, key0, T, hs);
        __syncthreads();

        float s[FLASH_MMA_KEY_TILE / 8][4] = {}, dp[FLASH_MMA_KEY_TILE / 8][4] = {}; // queries x keys
        flash_mma_times_rows(s, qa, ks, lane);
        flash_mma_times_rows(dp, oa, vs, lane);
        const bool edge = flash_needs_mask(wrow0, 16, key0, FLASH_MMA_KEY_TILE, T);
#pragma unroll
        for (int n = 0; n < FLASH_MMA_KEY_TILE / 8; n++)
#pragma unroll
            for (int i = 0; i < 4; i++) {
                const int r = i / 2, jj = key0 + 8 * n + mma_c_col(lane, i);
                float p = !edge || flash_visible(tv[r], jj, T) ? expf(s[n][i] * scale - rowLse[r]) : 0.0f;
                float z = flash_dropout_factor(key, threshold, dropScale, bh, tv[r], jj, T);
                s[n][i] = p * (dp[n][i] * z - rowDelta[r]);
            }
        uint32_t a[FLASH_MMA_KEY_TILE / 16][4];
        flash_mma_c_to_a(a, s);
        flash_mma_times_tile(dq, a, ks, lane);
    }
#pragma unroll
    for (int n = 0; n < FLASH_MMA_HEAD / 8; n++)
#pragma unroll
        for (int i = 0; i < 4; i++) {
            const int d = 8 * n + mma_c_col(lane, i), tt = t[i / 2];
            if (tt >= T || d >= hs) continue;
            size_t at = flash_qkv_index(b, tt, 0, h, d, T, NH, hs);
            dqkv[at] = __float2bfloat16(__bfloat162float(dqkv[at]) + dq[n][i] * scale);
        }
}
