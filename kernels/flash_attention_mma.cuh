// Tensor-core pieces of the bf16 flash-attention kernels (flash_attention_forward.cu, flash_attention_backward.cu):
// the lane-to-element maps of mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 fragments (PTX ISA, "Matrix
// Fragments for mma.m16n8k16 with floating point type") and of ldmatrix.x4.trans, the bf16 tile geometry, and the
// tile products every bf16 kernel is made of. The maps are __host__ __device__ so
// tests/native/flash_attention_host_test.cu checks them against the ISA's layout figures and
// FlashAttentionEmulation replays the same tiling on the host.
#ifndef JGPT_FLASH_ATTENTION_MMA_CUH
#define JGPT_FLASH_ATTENTION_MMA_CUH

#include <stdint.h>

// A block is 4 warps; each warp owns 16 rows (the mma's M: queries in the forward and dq kernels, keys in the dk/dv
// kernel), so a block owns 64. The other side streams through shared memory 64 rows at a time. The head is padded
// to 64 channels (hs <= 64); shared rows are 72 bf16 wide, so the 8 row groups of a fragment load, and the 8 rows
// of an ldmatrix, fall on distinct banks.
#define FLASH_MMA_WARPS 4
#define FLASH_MMA_ROWS (16 * FLASH_MMA_WARPS)
#define FLASH_MMA_KEY_TILE 64
#define FLASH_MMA_HEAD 64
#define FLASH_MMA_STRIDE (FLASH_MMA_HEAD + 8)
#define FLASH_MMA_TILE (FLASH_MMA_KEY_TILE * FLASH_MMA_STRIDE) // bf16 elements of one shared 64-row tile

// Static shared memory of the bf16 kernels, in bytes: the forward holds a k and a v tile (the q tile is staged
// through the k tile), dk/dv a q and a dout tile plus their rows' lse and delta, dq a k and a v tile.
__host__ __device__ constexpr int flash_mma_forward_shared_bytes() { return 2 * FLASH_MMA_TILE * 2; }
__host__ __device__ constexpr int flash_mma_dkdv_shared_bytes() { return 2 * FLASH_MMA_TILE * 2 + 2 * FLASH_MMA_ROWS * 4; }
__host__ __device__ constexpr int flash_mma_dq_shared_bytes() { return 2 * FLASH_MMA_TILE * 2; }

// groupID and threadID_in_group of the ISA's tables.
__host__ __device__ inline int mma_group(int lane) { return lane >> 2; }
__host__ __device__ inline int mma_thread(int lane) { return lane & 3; }

// A (16 x 16, row-major), elements a0..a7 of a lane: registers hold pairs (a0,a1), (a2,a3), (a4,a5), (a6,a7).
__host__ __device__ inline int mma_a_row(int lane, int i) { return mma_group(lane) + ((i & 2) ? 8 : 0); }
__host__ __device__ inline int mma_a_col(int lane, int i) { return mma_thread(lane) * 2 + (i & 1) + (i >= 4 ? 8 : 0); }

// B (16 x 8, "col": K by N), elements b0..b3: registers hold (b0,b1), (b2,b3).
__host__ __device__ inline int mma_b_row(int lane, int i) { return mma_thread(lane) * 2 + (i & 1) + (i >= 2 ? 8 : 0); }
__host__ __device__ inline int mma_b_col(int lane, int i) { return mma_group(lane); }

// C/D (16 x 8, f32), elements c0..c3.
__host__ __device__ inline int mma_c_row(int lane, int i) { return mma_group(lane) + (i >= 2 ? 8 : 0); }
__host__ __device__ inline int mma_c_col(int lane, int i) { return mma_thread(lane) * 2 + (i & 1); }

// The accumulator of n-tile `tile` (columns tile*8..tile*8+7) feeding A element i of k-step `step`: A's columns
// 16*step..16*step+15 are the C columns of n-tiles 2*step (elements 0..3) and 2*step+1 (elements 4..7), with
// the same rows, so scores in registers become the next product's A operand without moving between lanes.
__host__ __device__ inline int mma_c_tile_for_a(int step, int i) { return 2 * step + (i >= 4 ? 1 : 0); }
__host__ __device__ inline int mma_c_index_for_a(int i) { return i & 3; }

// ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 reading a 16 x 16 block of a row-major tile X (rows k, columns n)
// as two B fragments: lane l gives the address of row mma_ldsm_row(l), columns mma_ldsm_col(l)..+7, of the block
// (row l % 8 of 8x8 matrix l / 8; matrices 0..3 are rows 0-7/8-15 of columns 0-7, then of columns 8-15). With
// .trans, lane 4r + w receives (M[2w][r], M[2w+1][r]) of matrix m in register m, which makes registers {0, 1} the
// B fragment (b0 b1, b2 b3) of the block's first 8 columns and {2, 3} that of the next 8.
__host__ __device__ inline int mma_ldsm_row(int lane) { return (lane & 7) + (lane & 8); }
__host__ __device__ inline int mma_ldsm_col(int lane) { return (lane & 16) >> 1; }

#ifdef __CUDACC__
#include <cuda_bf16.h>

// Two bf16 (lo = lower column or row index) in one register, as the fragments hold them.
__device__ __forceinline__ uint32_t mma_pack(float lo, float hi) {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<uint32_t*>(&v);
}

// d = a * b + d on a 16x8x16 bf16 tile with fp32 accumulation.
__device__ __forceinline__ void mma_bf16(float* d, const uint32_t* a, const uint32_t* b) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}

// Four B registers of a 16 x 16 block at `block` (row-major, FLASH_MMA_STRIDE per row) by ldmatrix.x4.trans.
__device__ __forceinline__ void mma_ldsm_trans(uint32_t* r, const __nv_bfloat16* block, int lane) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    const unsigned address = (unsigned)__cvta_generic_to_shared(block + mma_ldsm_row(lane) * FLASH_MMA_STRIDE
                                                                + mma_ldsm_col(lane));
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(address));
#endif
}

__device__ __forceinline__ uint32_t flash_mma_pair(const __nv_bfloat16* p) {
    return *reinterpret_cast<const uint32_t*>(p);
}

// Rows [r0, r0 + 64) of a (B, T, rowStride) bf16 tensor, channels [column, column + hs) of each, into a shared
// tile (dst[r * FLASH_MMA_STRIDE + d]); zeros past T or hs. All threads of the block take part. Head h of qkv's
// part p (0 q, 1 k, 2 v) is column p*C + h*hs of row stride 3C; head h of out or dout is column h*hs of stride C.
__device__ __forceinline__ void flash_mma_load(__nv_bfloat16* dst, const __nv_bfloat16* src, int rowStride,
                                               int column, int b, int r0, int T, int hs) {
    static_assert(FLASH_MMA_ROWS == FLASH_MMA_KEY_TILE && FLASH_MMA_HEAD == FLASH_MMA_KEY_TILE,
                  "query, key and channel tiles share one 64 x 64 loader");
    if (hs == FLASH_MMA_HEAD && rowStride % 8 == 0 && column % 8 == 0 && ((uintptr_t)src & 15) == 0) {
        // 16-byte loads: 8 channels of one row each.
        for (int e = threadIdx.x; e < FLASH_MMA_ROWS * 8; e += blockDim.x) {
            int r = e / 8, d0 = (e % 8) * 8, t = r0 + r;
            uint4 v = make_uint4(0, 0, 0, 0);
            if (t < T) v = *reinterpret_cast<const uint4*>(src + ((size_t)b * T + t) * rowStride + column + d0);
            *reinterpret_cast<uint4*>(dst + r * FLASH_MMA_STRIDE + d0) = v;
        }
        return;
    }
    for (int e = threadIdx.x; e < FLASH_MMA_ROWS * FLASH_MMA_HEAD; e += blockDim.x) {
        int r = e / FLASH_MMA_HEAD, d = e % FLASH_MMA_HEAD, t = r0 + r;
        dst[r * FLASH_MMA_STRIDE + d] = t < T && d < hs ? src[((size_t)b * T + t) * rowStride + column + d]
                                                        : __float2bfloat16(0.0f);
    }
}

// The A fragments of rows [row0, row0 + 16) of a shared tile, one per 16-channel k-step.
__device__ __forceinline__ void flash_mma_a_rows(uint32_t a[FLASH_MMA_HEAD / 16][4], const __nv_bfloat16* tile,
                                                 int row0, int lane) {
#pragma unroll
    for (int s = 0; s < FLASH_MMA_HEAD / 16; s++)
#pragma unroll
        for (int r = 0; r < 4; r++)
            a[s][r] = flash_mma_pair(tile + (row0 + mma_a_row(lane, 2 * r)) * FLASH_MMA_STRIDE + 16 * s
                                     + mma_a_col(lane, 2 * r));
}

// acc (16 x 64) += A (16 x 64 channels) * tile^T: the tile's rows are the product's columns (q k^T from a k tile,
// dout v^T from a v tile; k q^T and v dout^T in the dk/dv kernel).
__device__ __forceinline__ void flash_mma_times_rows(float acc[8][4], const uint32_t a[FLASH_MMA_HEAD / 16][4],
                                                     const __nv_bfloat16* tile, int lane) {
#pragma unroll
    for (int n = 0; n < 8; n++)
#pragma unroll
        for (int s = 0; s < FLASH_MMA_HEAD / 16; s++) {
            const __nv_bfloat16* row = tile + (8 * n + mma_b_col(lane, 0)) * FLASH_MMA_STRIDE + 16 * s;
            uint32_t b[2] = {flash_mma_pair(row + mma_b_row(lane, 0)), flash_mma_pair(row + mma_b_row(lane, 2))};
            mma_bf16(acc[n], a[s], b);
        }
}

// acc (16 x 64 channels) += A (16 x 64) * tile: the tile's rows are the product's k (p v from a v tile, dS k from
// a k tile; p^T dout and dS^T q in the dk/dv kernel), its B fragments read by ldmatrix.trans.
__device__ __forceinline__ void flash_mma_times_tile(float acc[8][4], const uint32_t a[FLASH_MMA_KEY_TILE / 16][4],
                                                     const __nv_bfloat16* tile, int lane) {
#pragma unroll
    for (int s = 0; s < FLASH_MMA_KEY_TILE / 16; s++)
#pragma unroll
        for (int n = 0; n < 8; n += 2) {
            uint32_t b[4];
            mma_ldsm_trans(b, tile + 16 * s * FLASH_MMA_STRIDE + 8 * n, lane);
            mma_bf16(acc[n], a[s], b);
            mma_bf16(acc[n + 1], a[s], b + 2);
        }
}

// Accumulators (16 x 64, fp32) as the A fragments of the next product, rounded to bf16: n-tiles 2s and 2s + 1 hold
// A's columns of k-step s in the same rows (mma_c_tile_for_a), so no value moves between lanes.
__device__ __forceinline__ void flash_mma_c_to_a(uint32_t a[FLASH_MMA_KEY_TILE / 16][4], const float c[8][4]) {
#pragma unroll
    for (int s = 0; s < FLASH_MMA_KEY_TILE / 16; s++)
#pragma unroll
        for (int r = 0; r < 4; r++)
            a[s][r] = mma_pack(c[mma_c_tile_for_a(s, 2 * r)][mma_c_index_for_a(2 * r)],
                               c[mma_c_tile_for_a(s, 2 * r + 1)][mma_c_index_for_a(2 * r + 1)]);
}

// Max and sum over the 4 lanes of a quad (the lanes holding one accumulator row).
__device__ __forceinline__ float flash_quad_max(float v) {
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
    return fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
}

__device__ __forceinline__ float flash_quad_sum(float v) {
    v += __shfl_xor_sync(0xffffffffu, v, 1);
    return v + __shfl_xor_sync(0xffffffffu, v, 2);
}
#endif

#endif
