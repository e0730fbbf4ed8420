// GELU, tanh approximation: mirrors Ops.geluForward / Ops.geluBackward and the GELU halves of
// Ops.linearGeluForward / Ops.linearBackwardThroughGelu.
#include "common.cuh"

#define GELU_K 0.7978845608028654f  // sqrt(2 / pi)

__device__ __forceinline__ float gelu(float x) {
    return 0.5f * x * (1.0f + tanhf(GELU_K * (x + 0.044715f * x * x * x)));
}

// d/dx gelu(x).
__device__ __forceinline__ float gelu_grad(float x) {
    float th = tanhf(GELU_K * (x + 0.044715f * x * x * x));
    float sech2 = 1.0f - th * th;
    return 0.5f * (1.0f + th) + 0.5f * x * sech2 * GELU_K * (1.0f + 3.0f * 0.044715f * x * x);
}

template <typename T> __device__ void gelu_forward(T* out, const T* in, size_t n) {
    map_elementwise(n, [](size_t, float x) { return gelu(x); }, out, in);
}

// din += dout * d/dx gelu(x).
template <typename T> __device__ void gelu_backward(T* din, const T* dout, const T* in, size_t n) {
    map_elementwise(n, [](size_t, float d, float g, float x) { return d + gelu_grad(x) * g; }, din, din, dout, in);
}

// d *= d/dx gelu(pre), in place: the GELU's backward over a gradient nothing else reads (Ops.linearBackwardThroughGelu
// where cuBLASLt's DGELU epilogue is not used).
template <typename T> __device__ void gelu_grad_scale(T* d, const T* pre, size_t n) {
    map_elementwise(n, [](size_t, float g, float x) { return g * gelu_grad(x); }, d, d, pre);
}

extern "C" __global__ void gelu_forward_f32(float* out, const float* in, size_t n) { gelu_forward(out, in, n); }
extern "C" __global__ void gelu_forward_bf16(__nv_bfloat16* out, const __nv_bfloat16* in, size_t n) {
    gelu_forward(out, in, n);
}
extern "C" __global__ void gelu_backward_f32(float* din, const float* dout, const float* in, size_t n) {
    gelu_backward(din, dout, in, n);
}
extern "C" __global__ void gelu_backward_bf16(__nv_bfloat16* din, const __nv_bfloat16* dout,
                                              const __nv_bfloat16* in, size_t n) {
    gelu_backward(din, dout, in, n);
}
extern "C" __global__ void gelu_grad_scale_f32(float* d, const float* pre, size_t n) { gelu_grad_scale(d, pre, n); }
extern "C" __global__ void gelu_grad_scale_bf16(__nv_bfloat16* d, const __nv_bfloat16* pre, size_t n) {
    gelu_grad_scale(d, pre, n);
}
