// Counter-based dropout: mirrors Ops.dropoutForward / Ops.dropoutBackward; the mask for flat index i is
// Dropout.keep(i), bit for bit.
#include "common.cuh"

// out = keep ? in * scale : 0.
extern "C" __global__ void dropout_forward(float* out, const float* in, size_t n, unsigned long long key,
                                           int threshold, float scale) {
    GRID_STRIDE(i, n) out[i] = dropout_keep(key, i, threshold) ? in[i] * scale : 0.0f;
}

// din += keep ? dout * scale : 0 (threshold 0 and scale 1 make it a plain accumulate).
extern "C" __global__ void dropout_backward(float* din, const float* dout, size_t n, unsigned long long key,
                                            int threshold, float scale) {
    GRID_STRIDE(i, n) if (dropout_keep(key, i, threshold)) din[i] += dout[i] * scale;
}
