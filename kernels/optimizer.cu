// The optimizer step over whole parameter arenas, mirroring Ops.accumulateLoss / stepDecision / adamw (and the
// CPU's ArenaOptimizer). Every per-step scalar lives in the StepState array `state` (slots as in
// io.jgpt.ops.StepState), so these kernels take no per-step value by argument: a captured CUDA graph replays
// them unchanged. A chunk table is rows of (first element, count, decay flag), one block per row.
#include "common.cuh"
#include "storage.cuh"

#define STATE_LR 0
#define STATE_LOSS 1
#define STATE_NORM 2
#define STATE_CLIP 3
#define STATE_SKIP 4
#define STATE_STEPS 5
#define STATE_BAD 6
#define CHUNK_COLUMNS 3

// state[LOSS] += scale * sum(losses[0..n)): one block, fixed order, double accumulation.
extern "C" __global__ void loss_accumulate(float* state, const float* losses, int n, float scale) {
    __shared__ double scratch[WARP_SIZE];
    double s = 0.0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) s += losses[i];
    s = block_sum_double(s, scratch);
    if (threadIdx.x == 0) state[STATE_LOSS] += (float)(scale * s);
}

// partials[c] = sum of squares of chunk c of x, in double; grid = number of chunks.
extern "C" __global__ void chunk_sum_squares(double* partials, const float* x, const int* chunks) {
    __shared__ double scratch[WARP_SIZE];
    const int* row = chunks + (size_t)blockIdx.x * CHUNK_COLUMNS;
    const float* p = x + row[0];
    double s = 0.0;
    for (int i = threadIdx.x; i < row[1]; i += blockDim.x) {
        double v = p[i];
        s += v * v;
    }
    s = block_sum_double(s, scratch);
    if (threadIdx.x == 0) partials[blockIdx.x] = s;
}

// The step decision from the chunk partials (one block, fixed order): norm, clip factor, skip flag, the
// run of skipped steps and the step count, exactly as the CPU's ArenaOptimizer.decide.
extern "C" __global__ void step_decision(float* state, const double* partials, int chunks, float maxNorm) {
    __shared__ double scratch[WARP_SIZE];
    double s = 0.0;
    for (int i = threadIdx.x; i < chunks; i += blockDim.x) s += partials[i];
    s = block_sum_double(s, scratch);
    if (threadIdx.x != 0) return;
    double norm = sqrt(s);
    double factor = (double)maxNorm / (norm + 1e-6);
    bool skip = !isfinite(state[STATE_LOSS]) || !isfinite(norm);
    state[STATE_NORM] = (float)norm;
    state[STATE_CLIP] = maxNorm > 0.0f && factor < 1.0 ? (float)factor : 1.0f;
    state[STATE_SKIP] = skip ? 1.0f : 0.0f;
    state[STATE_BAD] = skip ? state[STATE_BAD] + 1.0f : 0.0f;
    if (!skip) state[STATE_STEPS] += 1.0f;
}

// AdamW over every chunk of the arenas (one block per chunk), reading lr, t, the clip factor and the skip
// flag from state; the formulas of io.jgpt.ops.AdamWConfig. A skipped step only clears the gradients. When
// copy is not null (bf16 runs) it receives each updated weight rounded to bf16 (the copy the next forward
// reads), so no separate pass narrows the weights; a skipped step leaves it, like the weights, unchanged.
extern "C" __global__ void adamw_arena(float* param, __nv_bfloat16* copy, float* grad, float* m, float* v,
                                       const int* chunks, const float* state, float beta1, float beta2, float eps,
                                       float weightDecay, int zeroGrad) {
    const int* row = chunks + (size_t)blockIdx.x * CHUNK_COLUMNS;
    size_t start = row[0];
    int n = row[1];
    bool skip = state[STATE_SKIP] != 0.0f;
    float lr = state[STATE_LR], clip = state[STATE_CLIP];
    double t = state[STATE_STEPS];
    float bc1 = (float)(1.0 - pow((double)beta1, t)), bc2 = (float)(1.0 - pow((double)beta2, t));
    float decay = row[2] ? 1.0f - lr * weightDecay : 1.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        size_t k = start + i;
        if (!skip) {
            float g = grad[k] * clip;
            float mi = beta1 * m[k] + (1.0f - beta1) * g;
            float vi = beta2 * v[k] + (1.0f - beta2) * (g * g);
            m[k] = mi;
            v[k] = vi;
            float p = param[k] * decay - mi / bc1 / (sqrtf(vi / bc2) + eps) * lr;
            param[k] = p;
            if (copy) copy[k] = from_float<__nv_bfloat16>(p);
        }
        if (zeroGrad) grad[k] = 0.0f;
    }
}
