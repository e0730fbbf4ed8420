// AdamW update in place: mirrors Ops.adamw with the formulas documented on io.jgpt.ops.AdamWStep; with
// zeroGrad != 0 the gradient is also set to zero (the fused zeroing of Ops.adamw's zeroGrad flag).
#include "common.cuh"

extern "C" __global__ void adamw_step(float* param, float* grad, float* m, float* v, size_t n,
                                      float lr, float beta1, float beta2, float eps, float weightDecay,
                                      float biasCorrection1, float biasCorrection2, int zeroGrad) {
    GRID_STRIDE(i, n) {
        float p = param[i], g = grad[i];
        p -= lr * weightDecay * p;
        float mi = beta1 * m[i] + (1.0f - beta1) * g;
        float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        float mhat = mi / biasCorrection1, vhat = vi / biasCorrection2;
        param[i] = p - lr * mhat / (sqrtf(vhat) + eps);
        if (zeroGrad) grad[i] = 0.0f;
    }
}
