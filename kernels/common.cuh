// Device helpers shared by every kernel file. All kernels/*.cu are compiled as one translation unit, so
// everything here is static/inline and guarded against double inclusion.
#ifndef JGPT_COMMON_CUH
#define JGPT_COMMON_CUH

#include <stdint.h>

#include "storage.cuh"

#define WARP_SIZE 32
#define FULL_MASK 0xffffffffu

// Grid-stride loop over [0, n) with 64-bit indices (tensors may exceed 2^31 elements).
#define GRID_STRIDE(i, n) \
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (size_t)(n); \
         i += (size_t)gridDim.x * blockDim.x)

// Mirrors io.jgpt.ops.Dropout.mix64 (MurmurHash3 finaliser); Java's long arithmetic wraps like uint64_t.
__device__ __forceinline__ uint64_t mix64(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ull;
    k ^= k >> 33;
    return k;
}

// Mirrors Dropout.keep: bits = mix64(key + index * GOLDEN); kept when (bits >>> 40) >= threshold.
// threshold == 0 keeps everything (inactive dropout).
__device__ __forceinline__ bool dropout_keep(uint64_t key, uint64_t index, int threshold) {
    return (mix64(key + index * 0x9E3779B97F4A7C15ull) >> 40) >= (uint64_t)threshold;
}

// A dropout site's key, read from device memory (the step's key table, written before the step) so that a
// captured CUDA graph draws new masks every replay; never read when the site is inactive (threshold 0, key
// pointer null).
__device__ __forceinline__ uint64_t dropout_key(const unsigned long long* key, int threshold) {
    return threshold == 0 ? 0ull : *key;
}

struct SumOp {
    template <typename T> __device__ __forceinline__ T operator()(T a, T b) const { return a + b; }
};
struct MaxOp {
    __device__ __forceinline__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

// Every lane of the warp gets op over all 32 lanes' values (butterfly order, the same on every lane).
template <typename T, typename Op>
__device__ __forceinline__ T warp_reduce(T v, Op op) {
    for (int o = WARP_SIZE / 2; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(FULL_MASK, v, o));
    return v;
}

// Block-wide reduction for blocks of whole warps (blockDim.x a multiple of 32, at most 1024). Every thread
// gets the result. `scratch` holds one value per warp; the leading barrier lets callers reuse it.
template <typename T, typename Op>
__device__ __forceinline__ T block_reduce(T v, T identity, T* scratch, Op op) {
    int lane = threadIdx.x % WARP_SIZE, warp = threadIdx.x / WARP_SIZE, warps = blockDim.x / WARP_SIZE;
    v = warp_reduce(v, op);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : identity;
    return warp_reduce(v, op);
}

__device__ __forceinline__ float warp_sum(float v) { return warp_reduce(v, SumOp()); }
__device__ __forceinline__ float warp_max(float v) { return warp_reduce(v, MaxOp()); }
__device__ __forceinline__ float block_sum(float v, float* scratch) {
    return block_reduce(v, 0.0f, scratch, SumOp());
}
__device__ __forceinline__ float block_max(float v, float* scratch) {
    return block_reduce(v, -INFINITY, scratch, MaxOp());
}
__device__ __forceinline__ double block_sum_double(double v, double* scratch) {
    return block_reduce(v, 0.0, scratch, SumOp());
}

// mask is the (maxT, maxT) causal-mask buffer, read as floats or ints; a non-zero entry masks.
__device__ __forceinline__ bool masked(const void* mask, int maskIsInt, int maxT, int t, int t2) {
    size_t i = (size_t)t * maxT + t2;
    return maskIsInt ? ((const int*)mask)[i] != 0 : ((const float*)mask)[i] != 0.0f;
}

// Error codes written to the backend's device error record {code, position, value} (first error wins).
#define JGPT_ERR_TOKEN 1
#define JGPT_ERR_TARGET 2

__device__ __forceinline__ void report_error(int* err, int code, int position, int value) {
    if (atomicCAS(&err[0], 0, code) == 0) {
        err[1] = position;
        err[2] = value;
    }
}

#endif
