// Tile geometry and index maps shared by the flash-attention kernels (flash_attention_forward.cu,
// flash_attention_backward.cu; the bf16 tensor-core forward's own pieces are in flash_attention_mma.cuh). Everything here is __host__ __device__ so that host-compiled unit tests
// (tests/native/flash_attention_test.cu) and the Java emulation (FlashAttentionEmulation, which reads these
// constants from this file) check exactly what the kernels use.
#ifndef JGPT_FLASH_ATTENTION_CUH
#define JGPT_FLASH_ATTENTION_CUH

#include <stddef.h>
#include <stdint.h>

#include "common.cuh"

// ---- fp32 kernels (CUDA cores) ------------------------------------------------------------------------
// A block is FLASH_THREADS threads; a query (or key) row is owned by G = flash_group(hs) neighbouring threads,
// each holding FLASH_DIMS_PER_THREAD of the head's channels in registers (hs is padded with zeros to 32*G).
// So a block owns FLASH_THREADS / G rows; the other side streams through shared memory in tiles.
#define FLASH_THREADS 128
#define FLASH_DIMS_PER_THREAD 32
#define FLASH_CHUNKS (FLASH_DIMS_PER_THREAD / 4)  // float4 chunks per thread
#define FLASH_MAX_GROUP 4                          // so hs <= 128
#define FLASH_KEY_TILE 32                          // keys per shared tile (forward, dq)
#define FLASH_QUERY_TILE 32                        // queries per shared tile (dk/dv)

// Threads per row for head size hs: 1, 2 or 4; 0 when hs is larger than the kernels support.
__host__ __device__ inline int flash_group(int hs) {
    return hs <= 0 ? 0 : hs <= 32 ? 1 : hs <= 64 ? 2 : hs <= 128 ? 4 : 0;
}

// Rows (queries in the forward and dq kernels, keys in the dk/dv kernel) one block owns.
__host__ __device__ inline int flash_rows(int group) { return FLASH_THREADS / group; }

// The padded head width every shared-memory tile row has.
__host__ __device__ inline int flash_padded(int group) { return FLASH_DIMS_PER_THREAD * group; }

// Channel of the c-th float of chunk i held by thread g of a row's G threads: chunks interleave across the
// G threads, so the G threads of a row read neighbouring 16-byte words of a tile row (no bank conflicts).
__host__ __device__ inline int flash_dim(int g, int group, int i, int c) { return (i * group + g) * 4 + c; }

__host__ __device__ inline int flash_ceil_div(int a, int b) { return (a + b - 1) / b; }

// Blocks of one (b, h) take their query tiles last first: the longest causal rows start earliest.
__host__ __device__ inline int flash_reversed_tile(int index, int tiles) { return tiles - 1 - index; }

// Key tiles a query tile of rows [row0, row0 + rows) reads: the keys before min(T, row0 + rows). Key tiles
// beyond (above the diagonal) are skipped entirely.
__host__ __device__ inline int flash_key_tiles(int row0, int rows, int T, int tile) {
    int end = row0 + rows < T ? row0 + rows : T;
    return flash_ceil_div(end, tile);
}

// Whether keys [key0, key0 + keys) against queries [row0, row0 + rows) need the per-element test: some key
// lies after some query (the diagonal), or a key or query lies past T. Interior tiles skip the test.
__host__ __device__ inline bool flash_needs_mask(int row0, int rows, int key0, int keys, int T) {
    return key0 + keys - 1 > row0 || key0 + keys > T || row0 + rows > T;
}

// Visible: query t sees key j <= t, both inside the sequence.
__host__ __device__ inline bool flash_visible(int t, int j, int T) { return j <= t && t < T; }

// Element (b, t, part, h, d) of the packed projection qkv (B, T, 3C), part 0/1/2 = q/k/v, C = NH * hs.
__host__ __device__ inline size_t flash_qkv_index(int b, int t, int part, int h, int d, int T, int NH, int hs) {
    size_t C = (size_t)NH * hs;
    return ((size_t)b * T + t) * 3 * C + part * C + (size_t)h * hs + d;
}

// Element (b, t, h, d) of a (B, T, C) tensor with heads side by side (out, dout).
__host__ __device__ inline size_t flash_row_index(int b, int t, int h, int d, int T, int NH, int hs) {
    return ((size_t)b * T + t) * NH * hs + (size_t)h * hs + d;
}

// The dropout element index of attention weight (bh, t, t2): ((b*NH + h)*T + t)*T + t2, as Ops specifies.
__host__ __device__ inline uint64_t flash_dropout_index(int bh, int t, int t2, int T) {
    return ((uint64_t)bh * T + t) * T + t2;
}

// Dynamic shared memory of the forward and dq kernels (a k and a v tile) and of the dk/dv kernel (a q and a
// dout tile plus their rows' lse and delta), in bytes.
__host__ __device__ inline int flash_forward_shared_bytes(int group) {
    return 2 * FLASH_KEY_TILE * flash_padded(group) * 4;
}
__host__ __device__ inline int flash_dkdv_shared_bytes(int group) {
    return (2 * FLASH_QUERY_TILE * flash_padded(group) + 2 * FLASH_QUERY_TILE) * 4;
}

#ifdef __CUDACC__
// Sum over the G threads of a row (neighbouring lanes; G a power of two); every one of them gets the same bits,
// since each butterfly step adds the same two values in either order.
__device__ __forceinline__ float flash_row_sum(float v, int group) {
    for (int o = 1; o < group; o <<= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// dot(a, tile row) over this thread's chunks, in chunk then component order.
__device__ __forceinline__ float flash_dot(const float* a, const float* row, int g, int group) {
    float s = 0.0f;
#pragma unroll
    for (int i = 0; i < FLASH_CHUNKS; i++) {
        float4 x = *reinterpret_cast<const float4*>(row + flash_dim(g, group, i, 0));
        s = fmaf(a[4 * i], x.x, s);
        s = fmaf(a[4 * i + 1], x.y, s);
        s = fmaf(a[4 * i + 2], x.z, s);
        s = fmaf(a[4 * i + 3], x.w, s);
    }
    return s;
}

// acc += w * tile row over this thread's chunks.
__device__ __forceinline__ void flash_axpy(float* acc, float w, const float* row, int g, int group) {
#pragma unroll
    for (int i = 0; i < FLASH_CHUNKS; i++) {
        float4 x = *reinterpret_cast<const float4*>(row + flash_dim(g, group, i, 0));
        acc[4 * i] = fmaf(w, x.x, acc[4 * i]);
        acc[4 * i + 1] = fmaf(w, x.y, acc[4 * i + 1]);
        acc[4 * i + 2] = fmaf(w, x.z, acc[4 * i + 2]);
        acc[4 * i + 3] = fmaf(w, x.w, acc[4 * i + 3]);
    }
}

// This thread's channels of row t of part (0 q, 1 k, 2 v) of head (b, h) into registers; zeros past hs or T.
__device__ __forceinline__ void flash_load_row(float* dst, const float* qkv, int b, int t, int part, int h, int g,
                                               int group, int T, int NH, int hs) {
#pragma unroll
    for (int i = 0; i < FLASH_CHUNKS; i++)
#pragma unroll
        for (int c = 0; c < 4; c++) {
            int d = flash_dim(g, group, i, c);
            dst[4 * i + c] = t < T && d < hs ? qkv[flash_qkv_index(b, t, part, h, d, T, NH, hs)] : 0.0f;
        }
}

// Rows [r0, r0 + n) of the head's channels of part `part` (and, when b_part >= 0, of b_part too) into shared
// tiles of `padded` floats per row; zeros past hs or T. All threads of the block take part.
__device__ __forceinline__ void flash_load_tiles(float* a, float* bt, const float* src, int rowStride, int offset,
                                                 int bOffset, int b, int r0, int n, int padded, int T, int hs) {
    for (int e = threadIdx.x; e < n * padded; e += blockDim.x) {
        int j = e / padded, d = e % padded, t = r0 + j;
        bool ok = t < T && d < hs;
        size_t at = ((size_t)b * T + t) * rowStride + d;
        a[e] = ok ? src[at + offset] : 0.0f;
        if (bt) bt[e] = ok ? src[at + bOffset] : 0.0f;
    }
}

// Where a thread of an fp32 kernel sits: its block covers head bh = (b, h) and rows [row0, row0 + rows) (query
// tiles last first when `reversed`, the forward and dq kernels; key blocks in order for dk/dv); the thread owns
// row `row` with channel group g of G.
struct FlashThread {
    int G, rows, padded, bh, b, h, row0, g, row;
};

__device__ __forceinline__ FlashThread flash_thread(int T, int NH, int hs, bool reversed) {
    FlashThread f;
    f.G = flash_group(hs);
    f.rows = flash_rows(f.G);
    f.padded = flash_padded(f.G);
    const int tiles = flash_ceil_div(T, f.rows), tile = blockIdx.x % tiles;
    f.bh = blockIdx.x / tiles;
    f.b = f.bh / NH;
    f.h = f.bh % NH;
    f.row0 = (reversed ? flash_reversed_tile(tile, tiles) : tile) * f.rows;
    f.g = threadIdx.x % f.G;
    f.row = f.row0 + threadIdx.x / f.G;
    return f;
}

// qkv-layout gradient part `part` of row t += this thread's channels v (rows past T are not stored).
__device__ __forceinline__ void flash_add_row(float* dqkv, const float* v, const FlashThread& f, int t, int part,
                                              int T, int NH, int hs) {
    if (t >= T) return;
#pragma unroll
    for (int i = 0; i < FLASH_CHUNKS; i++)
#pragma unroll
        for (int c = 0; c < 4; c++) {
            int d = flash_dim(f.g, f.G, i, c);
            if (d < hs) dqkv[flash_qkv_index(f.b, t, part, f.h, d, T, NH, hs)] += v[4 * i + c];
        }
}

// Dropout factor of attention weight (bh, t, t2): dropScale if kept, 0 if dropped, 1 without dropout.
__device__ __forceinline__ float flash_dropout_factor(unsigned long long key, int threshold, float dropScale,
                                                      int bh, int t, int t2, int T) {
    if (threshold == 0) return 1.0f;
    return dropout_keep(key, flash_dropout_index(bh, t, t2, T), threshold) ? dropScale : 0.0f;
}
#endif

#endif
