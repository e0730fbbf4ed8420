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

// Rows [r0, r0 + 64) of part `part` (0 q, 1 k, 2 v) of head (b, h) into a shared tile, row-major
// (dst[r * STRIDE + d]) or transposed (dst[d * STRIDE + r]); zeros past T or hs.
__device__ __forceinline__ void flash_mma_load(__nv_bfloat16* dst, bool transposed, const __nv_bfloat16* qkv, int b,
                                               int r0, int part, int h, int T, int NH, int hs) {
    static_assert(FLASH_MMA_ROWS == FLASH_MMA_KEY_TILE && FLASH_MMA_HEAD == FLASH_MMA_KEY_TILE,
                  "query, key and channel tiles share one 64 x 64 loader");
    if (hs == FLASH_MMA_HEAD && (NH * hs) % 8 == 0) {
        // 16-byte loads: 8 channels of one row each.
        for (int e = threadIdx.x; e < FLASH_MMA_ROWS * 8; e += blockDim.x) {
            int r = e / 8, d0 = (e % 8) * 8, t = r0 + r;
            uint4 v = make_uint4(0, 0, 0, 0);
            if (t < T) v = *reinterpret_cast<const uint4*>(qkv + flash_qkv_index(b, t, part, h, d0, T, NH, hs));
            if (!transposed) {
                *reinterpret_cast<uint4*>(dst + r * FLASH_MMA_STRIDE + d0) = v;
            } else {
                const __nv_bfloat16* x = reinterpret_cast<const __nv_bfloat16*>(&v);
#pragma unroll
                for (int i = 0; i < 8; i++) dst[(d0 + i) * FLASH_MMA_STRIDE + r] = x[i];
            }
        }
        return;
    }
    for (int e = threadIdx.x; e < FLASH_MMA_ROWS * FLASH_MMA_HEAD; e += blockDim.x) {
        int r = e / FLASH_MMA_HEAD, d = e % FLASH_MMA_HEAD, t = r0 + r;
        __nv_bfloat16 v = t < T && d < hs ? qkv[flash_qkv_index(b, t, part, h, d, T, NH, hs)] : __float2bfloat16(0.0f);
        dst[transposed ? d * FLASH_MMA_STRIDE + r : r * FLASH_MMA_STRIDE + d] = v;
    }
}

__device__ __forceinline__ uint32_t flash_mma_pair(const __nv_bfloat16* p) {
    return *reinterpret_cast<const uint32_t*>(p);
}

__device__ __forceinline__ float flash_quad_max(float v) {
    v = fmaxf(v, __shfl_xor_sync(FULL_MASK, v, 1));
    return fmaxf(v, __shfl_xor_sync(FULL_MASK, v, 2));
}

__device__ __forceinline__ float flash_quad_sum(float v) {
    v += __shfl_xor_sync(FULL_MASK, v, 1);
    return v + __shfl_xor_sync(FULL_MASK, v, 2);
}

extern "C" __global__ void flash_attention_forward_bf16(__nv_bfloat16* out, float* lse, const __nv_bfloat16* qkv,
                                                        int B, int T, int NH, int hs, float scale,
                                                        const unsigned long long* dropKey, int threshold,
                                                        float dropScale) {
    const unsigned long long key = dropout_key(dropKey, threshold);
    __shared__ __align__(16) __nv_bfloat16 qs[FLASH_MMA_ROWS * FLASH_MMA_STRIDE];
    __shared__ __align__(16) __nv_bfloat16 ks[FLASH_MMA_KEY_TILE * FLASH_MMA_STRIDE];
    __shared__ __align__(16) __nv_bfloat16 vt[FLASH_MMA_HEAD * FLASH_MMA_STRIDE]; // v transposed: [channel][key]
    const int tiles = flash_ceil_div(T, FLASH_MMA_ROWS);
    const int bh = blockIdx.x / tiles, b = bh / NH, h = bh % NH;
    const int row0 = flash_reversed_tile(blockIdx.x % tiles, tiles) * FLASH_MMA_ROWS;
    const int lane = threadIdx.x % WARP_SIZE, warp = threadIdx.x / WARP_SIZE, wrow0 = row0 + 16 * warp;
    // This lane's two rows (c0, c1 and c2, c3 of every accumulator), clamped into the sequence for masking.
    int t[2], tv[2];
    for (int r = 0; r < 2; r++) {
        t[r] = wrow0 + mma_c_row(lane, 2 * r);
        tv[r] = t[r] < T ? t[r] : T - 1;
    }

    flash_mma_load(qs, false, qkv, b, row0, 0, h, T, NH, hs);
    __syncthreads();
    uint32_t qa[FLASH_MMA_HEAD / 16][4]; // A fragments of this warp's 16 rows, one per 16-channel k-step
#pragma unroll
    for (int s = 0; s < FLASH_MMA_HEAD / 16; s++)
#pragma unroll
        for (int r = 0; r < 4; r++)
            qa[s][r] = flash_mma_pair(qs + (16 * warp + mma_a_row(lane, 2 * r)) * FLASH_MMA_STRIDE + 16 * s
                                      + mma_a_col(lane, 2 * r));

    float o[FLASH_MMA_HEAD / 8][4] = {}; // output accumulators, one per 8-channel n-tile
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f}; // l: this lane's share of the row sums
    const int keyTiles = flash_key_tiles(row0, FLASH_MMA_ROWS, T, FLASH_MMA_KEY_TILE);
    for (int kt = 0; kt < keyTiles; kt++) {
        const int key0 = kt * FLASH_MMA_KEY_TILE;
        __syncthreads();
        flash_mma_load(ks, false, qkv, b, key0, 1, h, T, NH, hs);
        flash_mma_load(vt, true, qkv, b, key0, 2, h, T, NH, hs);
        __syncthreads();

        float s[FLASH_MMA_KEY_TILE / 8][4] = {}; // scores, one accumulator per 8-key n-tile
#pragma unroll
        for (int n = 0; n < FLASH_MMA_KEY_TILE / 8; n++)
#pragma unroll
            for (int st = 0; st < FLASH_MMA_HEAD / 16; st++) {
                const __nv_bfloat16* krow = ks + (8 * n + mma_b_col(lane, 0)) * FLASH_MMA_STRIDE + 16 * st;
                uint32_t kb[2] = {flash_mma_pair(krow + mma_b_row(lane, 0)), flash_mma_pair(krow + mma_b_row(lane, 2))};
                mma_bf16(s[n], qa[st], kb);
            }
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
        // o += P v: the score accumulators of n-tiles 2*st and 2*st+1 are the A fragment of k-step st.
#pragma unroll
        for (int st = 0; st < FLASH_MMA_KEY_TILE / 16; st++) {
            uint32_t pa[4];
#pragma unroll
            for (int r = 0; r < 4; r++)
                pa[r] = mma_pack(s[mma_c_tile_for_a(st, 2 * r)][mma_c_index_for_a(2 * r)],
                                 s[mma_c_tile_for_a(st, 2 * r + 1)][mma_c_index_for_a(2 * r + 1)]);
#pragma unroll
            for (int n = 0; n < FLASH_MMA_HEAD / 8; n++) {
                const __nv_bfloat16* vrow = vt + (8 * n + mma_b_col(lane, 0)) * FLASH_MMA_STRIDE + 16 * st;
                uint32_t vb[2] = {flash_mma_pair(vrow + mma_b_row(lane, 0)), flash_mma_pair(vrow + mma_b_row(lane, 2))};
                mma_bf16(o[n], pa, vb);
            }
        }
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
