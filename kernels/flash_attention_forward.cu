// Fused causal attention forward (FlashAttention-2's algorithm), fp32 on CUDA cores: mirrors
// Ops.attentionForward. The probabilities are never stored; each query row keeps a running max and sum
// (online softmax) while key/value tiles stream through shared memory, and saves its log-sum-exp for the
// backward pass. Geometry and index maps: flash_attention.cuh.
#include "common.cuh"
#include "flash_attention.cuh"

// Grid: B*NH * ceil(T / rows) blocks of FLASH_THREADS threads, rows = flash_rows(G), G = flash_group(hs);
// dynamic shared memory flash_forward_shared_bytes(G). Block x covers head bh = x / tiles and query tile
// flash_reversed_tile(x % tiles, tiles). qkv (B,T,3C) in, out (B,T,C) and lse (B,NH,T) written.
extern "C" __global__ void flash_attention_forward_f32(float* out, float* lse, const float* qkv, int B, int T,
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

    float q[FLASH_DIMS_PER_THREAD], acc[FLASH_DIMS_PER_THREAD];
    flash_load_row(q, qkv, b, t, 0, h, g, G, T, NH, hs);
#pragma unroll
    for (int d = 0; d < FLASH_DIMS_PER_THREAD; d++) acc[d] = 0.0f;
    float m = -INFINITY, l = 0.0f;

    const int keyTiles = flash_key_tiles(row0, rows, T, FLASH_KEY_TILE);
    for (int kt = 0; kt < keyTiles; kt++) {
        const int key0 = kt * FLASH_KEY_TILE;
        __syncthreads(); // every thread is done with the previous tile
        flash_load_tiles(ks, vs, qkv, 3 * C, C + h * hs, 2 * C + h * hs, b, key0, FLASH_KEY_TILE, padded, T, hs);
        __syncthreads();
        const bool edge = flash_needs_mask(row0, rows, key0, FLASH_KEY_TILE, T);
        // Scaled scores of this tile, then one online-softmax update for the whole tile.
        float s[FLASH_KEY_TILE];
        float tileMax = -INFINITY;
#pragma unroll
        for (int j = 0; j < FLASH_KEY_TILE; j++) {
            s[j] = flash_row_sum(flash_dot(q, ks + j * padded, g, G), G) * scale;
            if (edge && !flash_visible(tv, key0 + j, T)) s[j] = -INFINITY;
            tileMax = fmaxf(tileMax, s[j]);
        }
        // Key 0 is in the first tile and every row sees it, so mNew is finite from the first tile on.
        const float mNew = fmaxf(m, tileMax), correction = expf(m - mNew);
        l *= correction;
#pragma unroll
        for (int d = 0; d < FLASH_DIMS_PER_THREAD; d++) acc[d] *= correction;
#pragma unroll
        for (int j = 0; j < FLASH_KEY_TILE; j++) {
            float p = expf(s[j] - mNew);
            l += p;
            float w = p * flash_dropout_factor(key, threshold, dropScale, bh, tv, key0 + j, T);
            flash_axpy(acc, w, vs + j * padded, g, G);
        }
        m = mNew;
    }
    if (t >= T) return;
    const float inv = 1.0f / l;
#pragma unroll
    for (int i = 0; i < FLASH_CHUNKS; i++)
#pragma unroll
        for (int c = 0; c < 4; c++) {
            int d = flash_dim(g, G, i, c);
            if (d < hs) out[flash_row_index(b, t, h, d, T, NH, hs)] = acc[4 * i + c] * inv;
        }
    if (g == 0) lse[(size_t)bh * T + t] = m + logf(l);
}

// ---- bf16 storage on tensor cores ------------------------------------------------------------------------
// The same algorithm with q, k, v, out in bf16 (lse fp32), hs <= 64, products on mma.sync m16n8k16 with fp32
// accumulation (flash_attention_mma.cuh). Each warp owns 16 query rows; a lane holds rows g and g+8 of its
// warp's scores (g = lane / 4) for columns 2*(lane % 4) + {0, 1} of every 8-key n-tile. The probabilities
// (after dropout) are rounded to bf16 as the second product's A operand, straight from the score registers;
// the softmax sums use them unrounded. Grid: B*NH * ceil(T / 64) blocks of 128 threads, static shared memory.
#include "flash_attention_mma.cuh"

extern "C" __global__ void flash_attention_forward_bf16(__nv_bfloat16* out, float* lse, const __nv_bfloat16* qkv,
                                                        int B, int T, int NH, int hs, float scale,
                                                        const unsigned long long* dropKey, int threshold,
                                                        float dropScale) {
    const unsigned long long key = dropout_key(dropKey, threshold);
    __shared__ __align__(16) __nv_bfloat16 ks[FLASH_MMA_TILE]; // k rows (first the q rows)
    __shared__ __align__(16) __nv_bfloat16 vs[FLASH_MMA_TILE];
    static_assert(sizeof(ks) + sizeof(vs) == flash_mma_forward_shared_bytes(), "shared memory as declared");
    const int C = NH * hs, tiles = flash_ceil_div(T, FLASH_MMA_ROWS);
    const int bh = blockIdx.x / tiles, b = bh / NH, h = bh % NH;
    const int row0 = flash_reversed_tile(blockIdx.x % tiles, tiles) * FLASH_MMA_ROWS;
    const int lane = threadIdx.x % WARP_SIZE, warp = threadIdx.x / WARP_SIZE, wrow0 = row0 + 16 * warp;
    // This lane's two rows (c0, c1 and c2, c3 of every accumulator), clamped into the sequence for masking.
    int t[2], tv[2];
    for (int r = 0; r < 2; r++) {
        t[r] = wrow0 + mma_c_row(lane, 2 * r);
        tv[r] = t[r] < T ? t[r] : T - 1;
    }

    flash_mma_load(ks, qkv, 3 * C, h * hs, b, row0, T, hs);
    __syncthreads();
    uint32_t qa[FLASH_MMA_HEAD / 16][4]; // A fragments of this warp's 16 rows, one per 16-channel k-step
    flash_mma_a_rows(qa, ks, 16 * warp, lane);

    float o[FLASH_MMA_HEAD / 8][4] = {}; // output accumulators, one per 8-channel n-tile
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f}; // l: this lane's share of the row sums
    const int keyTiles = flash_key_tiles(row0, FLASH_MMA_ROWS, T, FLASH_MMA_KEY_TILE);
    for (int kt = 0; kt < keyTiles; kt++) {
        const int key0 = kt * FLASH_MMA_KEY_TILE;
        __syncthreads();
        flash_mma_load(ks, qkv, 3 * C, C + h * hs, b, key0, T, hs);
        flash_mma_load(vs, qkv, 3 * C, 2 * C + h * hs, b, key0, T, hs);
        __syncthreads();

        float s[FLASH_MMA_KEY_TILE / 8][4] = {}; // scores, one accumulator per 8-key n-tile
        flash_mma_times_rows(s, qa, ks, lane);
        const bool edge = flash_needs_mask(wrow0, 16, key0, FLASH_MMA_KEY_TILE, T);
        float tileMax[2] = {-INFINITY, -INFINITY};
#pragma unroll
        for (int n = 0; n < FLASH_MMA_KEY_TILE / 8; n++)
#pragma unroll
            for (int i = 0; i < 4; i++) {
                float v = s[n][i] * scale;
                if (edge && !flash_visible(tv[i / 2], key0 + 8 * n + mma_c_col(lane, i), T)) v = -INFINITY;
                s[n][i] = v;
                tileMax[i / 2] = fmaxf(tileMax[i / 2], v);
            }
        float mNew[2], correction[2];
        for (int r = 0; r < 2; r++) {
            mNew[r] = fmaxf(m[r], flash_quad_max(tileMax[r]));
            correction[r] = expf(m[r] - mNew[r]);
            l[r] *= correction[r];
            m[r] = mNew[r];
        }
#pragma unroll
        for (int n = 0; n < FLASH_MMA_HEAD / 8; n++)
#pragma unroll
            for (int i = 0; i < 4; i++) o[n][i] *= correction[i / 2];
#pragma unroll
        for (int n = 0; n < FLASH_MMA_KEY_TILE / 8; n++)
#pragma unroll
            for (int i = 0; i < 4; i++) {
                float p = expf(s[n][i] - mNew[i / 2]);
                l[i / 2] += p;
                s[n][i] = p * flash_dropout_factor(key, threshold, dropScale, bh, tv[i / 2],
                                                   key0 + 8 * n + mma_c_col(lane, i), T);
            }
        // o += P v, the score accumulators becoming the A fragments.
        uint32_t pa[FLASH_MMA_KEY_TILE / 16][4];
        flash_mma_c_to_a(pa, s);
        flash_mma_times_tile(o, pa, vs, lane);
    }
    for (int r = 0; r < 2; r++) {
        l[r] = flash_quad_sum(l[r]);
        if (t[r] < T && mma_thread(lane) == 0) lse[(size_t)bh * T + t[r]] = m[r] + logf(l[r]);
    }
#pragma unroll
    for (int n = 0; n < FLASH_MMA_HEAD / 8; n++)
#pragma unroll
        for (int i = 0; i < 4; i++) {
            int d = 8 * n + mma_c_col(lane, i);
            if (t[i / 2] < T && d < hs)
                out[flash_row_index(b, t[i / 2], h, d, T, NH, hs)] = __float2bfloat16(o[n][i] / l[i / 2]);
        }
}
