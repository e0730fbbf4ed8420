// Storage types: what a tensor's elements are in memory (float or __nv_bfloat16), as opposed to the float
// every kernel computes in. Kernels are templates on the storage type T; each kernel file ends with one
// extern "C" wrapper per instantiation, named <kernel>_f32 / <kernel>_bf16 (the Java bindings in
// io.jgpt.cuda.Kernels pick the instantiation by the tensor's DType).
#ifndef JGPT_STORAGE_CUH
#define JGPT_STORAGE_CUH

#include <cuda_bf16.h>
#include <stdint.h>

// Widening to float is exact for both types; narrowing to bf16 rounds to nearest even
// (io.jgpt.tensor.Bf16.fromFloat is the same function on the host).
__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }

template <typename T> __device__ __forceinline__ T from_float(float x);
template <> __device__ __forceinline__ float from_float<float>(float x) { return x; }
template <> __device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float x) {
    return __float2bfloat16_rn(x);
}

// 16 bytes of T (4 floats or 8 bf16), moved with one 128-bit load or store.
template <typename T> struct alignas(16) Vec16 {
    static constexpr int N = 16 / sizeof(T);
    T v[N];
};

__device__ __forceinline__ bool aligned16(const void* p) { return ((uintptr_t)p & 15) == 0; }

template <typename T> __device__ __forceinline__ Vec16<T> load16(const T* p, size_t i) {
    return *reinterpret_cast<const Vec16<T>*>(p + i);
}

template <typename T> __device__ __forceinline__ void store16(T* p, size_t i, const Vec16<T>& x) {
    *reinterpret_cast<Vec16<T>*>(p + i) = x;
}

// One vector's worth of out[i + j] = op(i + j, in[i + j]...) for j in [0, N).
template <typename T, typename Op, typename... V>
__device__ __forceinline__ Vec16<T> map_lanes(size_t i, Op op, const V&... in) {
    Vec16<T> out;
#pragma unroll
    for (int j = 0; j < Vec16<T>::N; j++) out.v[j] = from_float<T>(op(i + j, to_float(in.v[j])...));
    return out;
}

// Grid-stride element-wise map over [0, n): out[i] = op(i, in[i]...), every value widened to float for op and
// the result narrowed to T. When every pointer is 16-byte aligned, each thread moves 16 bytes per operand at a
// time and the last n % N elements go one by one; otherwise every element does. out may alias an input (the
// same index is read before it is written), which is how accumulating kernels pass their output as an input.
// The host sizes the grid at one thread per vector (io.jgpt.cuda.Launch.vectorized).
template <typename T, typename Op, typename... In>
__device__ __forceinline__ void map_elementwise(size_t n, Op op, T* out, const In*... in) {
    static_assert(((sizeof(In) == sizeof(T)) && ...), "operands of one element-wise kernel share a storage size");
    constexpr int N = Vec16<T>::N;
    size_t done = 0;
    if (aligned16(out) && (aligned16(in) && ...)) {
        size_t vectors = n / N;
        for (size_t v = (size_t)blockIdx.x * blockDim.x + threadIdx.x; v < vectors;
             v += (size_t)gridDim.x * blockDim.x)
            store16(out, v * N, map_lanes<T>(v * N, op, load16(in, v * N)...));
        done = vectors * N;
    }
    for (size_t i = done + (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        out[i] = from_float<T>(op(i, to_float(in[i])...));
}

#endif
