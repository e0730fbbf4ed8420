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
                                                       int NH, int hs, float scale, unsigned long long key,
                                                       int threshold, float dropScale) {
    extern __shared__ float4 flash_shared[];
    const int G = flash_group(hs), rows = flash_rows(G), padded = flash_padded(G), C = NH * hs;
    const int tiles = flash_ceil_div(T, rows);
    const int bh = blockIdx.x / tiles, b = bh / NH, h = bh % NH;
    const int row0 = flash_reversed_tile(blockIdx.x % tiles, tiles) * rows;
    const int g = threadIdx.x % G, t = row0 + threadIdx.x / G, tv = t < T ? t : T - 1;
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
