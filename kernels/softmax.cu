// Attention weights: mirrors the softmax/mask/dropout part of Ops.attentionForward / attentionBackward.
// One warp per row (b, h, t) of the (B, NH, T, T) score matrix.
#include "common.cuh"

// att[row, t2] = softmax(scale * scores[row, :])[t2] with masked entries exactly 0 (scores may alias att).
// When att_dropped is non-null it also receives att * keep / (1 - p), element index row * T + t2.
extern "C" __global__ void attention_softmax_forward(float* att, float* att_dropped, const float* scores,
                                                     const void* mask, int maskIsInt, int maxT, int rows,
                                                     int T, float scale, unsigned long long key,
                                                     int threshold, float dropScale) {
    int lane = threadIdx.x % WARP_SIZE;
    int row = (int)(((size_t)blockIdx.x * blockDim.x + threadIdx.x) / WARP_SIZE);
    if (row >= rows) return;
    int t = row % T;
    size_t off = (size_t)row * T;
    float mx = -INFINITY;
    for (int t2 = lane; t2 < T; t2 += WARP_SIZE)
        if (!masked(mask, maskIsInt, maxT, t, t2)) mx = fmaxf(mx, scale * scores[off + t2]);
    mx = warp_max(mx);
    float sum = 0.0f;
    for (int t2 = lane; t2 < T; t2 += WARP_SIZE)
        if (!masked(mask, maskIsInt, maxT, t, t2)) sum += expf(scale * scores[off + t2] - mx);
    sum = warp_sum(sum);
    // A fully masked row (never the case with a causal mask) becomes all zeros rather than NaN.
    float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
    for (int t2 = lane; t2 < T; t2 += WARP_SIZE) {
        float p = masked(mask, maskIsInt, maxT, t, t2) ? 0.0f : expf(scale * scores[off + t2] - mx) * inv;
        att[off + t2] = p;
        if (att_dropped) att_dropped[off + t2] = dropout_keep(key, off + t2, threshold) ? p * dropScale : 0.0f;
    }
}

// Given datt_dropped = dL/d(dropped weights), overwrites it in place with dL/d(raw scores):
// datt = datt_dropped * keep * dropScale; dscore = scale * att * (datt - sum_j att_j * datt_j).
// Masked entries have att == 0 and so get 0.
extern "C" __global__ void attention_softmax_backward(float* grad, const float* att, int rows, int T,
                                                      float scale, unsigned long long key, int threshold,
                                                      float dropScale) {
    int lane = threadIdx.x % WARP_SIZE;
    int row = (int)(((size_t)blockIdx.x * blockDim.x + threadIdx.x) / WARP_SIZE);
    if (row >= rows) return;
    size_t off = (size_t)row * T;
    float dot = 0.0f;
    for (int t2 = lane; t2 < T; t2 += WARP_SIZE) {
        size_t i = off + t2;
        float d = dropout_keep(key, i, threshold) ? grad[i] * dropScale : 0.0f;
        dot += att[i] * d;
    }
    dot = warp_sum(dot);
    for (int t2 = lane; t2 < T; t2 += WARP_SIZE) {
        size_t i = off + t2;
        float d = dropout_keep(key, i, threshold) ? grad[i] * dropScale : 0.0f;
        grad[i] = scale * att[i] * (d - dot);
    }
}
