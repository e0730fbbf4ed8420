// Tensor-core pieces of the bf16 flash-attention forward (flash_attention_forward.cu): the lane-to-element maps
// of mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 fragments (PTX ISA, "Matrix Fragments for
// mma.m16n8k16 with floating point type"), the bf16 tile geometry, and the instruction itself. The maps are
// __host__ __device__ so tests/native/flash_attention_host_test.cu checks them against the ISA's layout figures
// and FlashAttentionEmulation replays the same tiling on the host.
#ifndef JGPT_FLASH_ATTENTION_MMA_CUH
#define JGPT_FLASH_ATTENTION_MMA_CUH

#include <stdint.h>

// A block is 4 warps; each warp owns 16 query rows (the mma's M), so a block owns 64. Keys stream through
// shared memory 64 at a time. The head is padded to 64 channels (hs <= 64); shared rows are 72 bf16 wide, so
// the 8 row groups of a fragment load fall on distinct banks.
#define FLASH_MMA_WARPS 4
#define FLASH_MMA_ROWS (16 * FLASH_MMA_WARPS)
#define FLASH_MMA_KEY_TILE 64
#define FLASH_MMA_HEAD 64
#define FLASH_MMA_STRIDE (FLASH_MMA_HEAD + 8)

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
#endif

#endif
