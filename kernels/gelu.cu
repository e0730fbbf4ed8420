// GELU, tanh approximation: mirrors Ops.geluForward / Ops.geluBackward.
#include "common.cuh"

#define GELU_K 0.7978845608028654f  // sqrt(2 / pi)

extern "C" __global__ void gelu_forward(float* out, const float* in, size_t n) {
    GRID_STRIDE(i, n) {
        float x = in[i];
        out[i] = 0.5f * x * (1.0f + tanhf(GELU_K * (x + 0.044715f * x * x * x)));
    }
}

// din += dout * d/dx gelu(x).
extern "C" __global__ void gelu_backward(float* din, const float* dout, const float* in, size_t n) {
    GRID_STRIDE(i, n) {
        float x = in[i];
        float th = tanhf(GELU_K * (x + 0.044715f * x * x * x));
        float sech2 = 1.0f - th * th;
        float grad = 0.5f * (1.0f + th) + 0.5f * x * sech2 * GELU_K * (1.0f + 3.0f * 0.044715f * x * x);
        din[i] += grad * dout[i];
    }
}
