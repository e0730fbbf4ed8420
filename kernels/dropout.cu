// Counter-based dropout: mirrors Ops.dropoutForward / Ops.dropoutBackward; the mask for flat index i is
// Dropout.keep(i), bit for bit.
#include "common.cuh"

// out = keep ? in * scale : 0.
template <typename T>
__device__ void dropout_forward(T* out, const T* in, size_t n, unsigned long long key, int threshold, float scale) {
    map_elementwise(n, [=](size_t i, float x) { return dropout_keep(key, i, threshold) ? x * scale : 0.0f; }, out,
                    in);
}

// din += keep ? dout * scale : 0 (threshold 0 and scale 1 make it a plain accumulate).
template <typename T>
__device__ void dropout_backward(T* din, const T* dout, size_t n, unsigned long long key, int threshold,
                                 float scale) {
    map_elementwise(n, [=](size_t i, float d, float g) { return dropout_keep(key, i, threshold) ? d + g * scale : d; },
                    din, din, dout);
}

extern "C" __global__ void dropout_forward_f32(float* out, const float* in, size_t n,
                                               const unsigned long long* dropKey, int threshold, float scale) {
    const unsigned long long key = dropout_key(dropKey, threshold);
    dropout_forward(out, in, n, key, threshold, scale);
}
extern "C" __global__ void dropout_forward_bf16(__nv_bfloat16* out, const __nv_bfloat16* in, size_t n,
                                                const unsigned long long* dropKey, int threshold, float scale) {
    const unsigned long long key = dropout_key(dropKey, threshold);
    dropout_forward(out, in, n, key, threshold, scale);
}
extern "C" __global__ void dropout_backward_f32(float* din, const float* dout, size_t n,
                                                const unsigned long long* dropKey, int threshold, float scale) {
    const unsigned long long key = dropout_key(dropKey, threshold);
    dropout_backward(din, dout, n, key, threshold, scale);
}
extern "C" __global__ void dropout_backward_bf16(__nv_bfloat16* din, const __nv_bfloat16* dout, size_t n,
                                                 const unsigned long long* dropKey, int threshold, float scale) {
    const unsigned long long key = dropout_key(dropKey, threshold);
    dropout_backward(din, dout, n, key, threshold, scale);
}
