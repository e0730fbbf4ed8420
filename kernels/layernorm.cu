// LayerNorm over the last dimension (eps 1e-5, biased variance): mirrors Ops.layerNormForward /
// Ops.layerNormBackward and the fused Ops.residualLayerNormForward. One warp per row; the weight/bias gradients
// are column sums done separately (partial sums per row group, then a fixed-order reduction) so they are
// deterministic. Rows, weight and bias are stored as T; statistics, parameter gradients and all
// arithmetic are float.
#include "common.cuh"

// One row of C values normalised by the calling warp (lane = its lane): mean and 1/std saved at row,
// y = (x - mean) * rstd * weight + bias.
template <typename T>
__device__ __forceinline__ void layernorm_row(T* y, float* mean, float* rstd, const T* x, const T* weight,
                                              const T* bias, int row, int C, int lane) {
    float sum = 0.0f;
    for (int c = lane; c < C; c += WARP_SIZE) sum += to_float(x[c]);
    float m = warp_sum(sum) / C;
    float sq = 0.0f;
    for (int c = lane; c < C; c += WARP_SIZE) {
        float d = to_float(x[c]) - m;
        sq += d * d;
    }
    float s = 1.0f / sqrtf(warp_sum(sq) / C + 1e-5f);
    for (int c = lane; c < C; c += WARP_SIZE)
        y[c] = from_float<T>((to_float(x[c]) - m) * s * to_float(weight[c]) + to_float(bias[c]));
    if (lane == 0) {
        mean[row] = m;
        rstd[row] = s;
    }
}

// Launch with blockDim.x a multiple of 32; row = global warp index.
template <typename T>
__device__ void layernorm_forward(T* out, float* mean, float* rstd, const T* in, const T* weight, const T* bias,
                                  int N, int C) {
    int lane = threadIdx.x % WARP_SIZE;
    int row = (int)(((size_t)blockIdx.x * blockDim.x + threadIdx.x) / WARP_SIZE);
    if (row >= N) return;
    size_t off = (size_t)row * C;
    layernorm_row(out + off, mean, rstd, in + off, weight, bias, row, C, lane);
}

// Mirrors Ops.residualLayerNormForward: sum = x + branch stored as T, then the LayerNorm of the stored sum (what
// add followed by layernorm_forward computes), without a second kernel reading sum back from memory. Each lane
// reads back only the elements it wrote, so sum may alias x or branch.
template <typename T>
__device__ void residual_layernorm_forward(T* sum, T* out, float* mean, float* rstd, const T* x, const T* branch,
                                           const T* weight, const T* bias, int N, int C) {
    int lane = threadIdx.x % WARP_SIZE;
    int row = (int)(((size_t)blockIdx.x * blockDim.x + threadIdx.x) / WARP_SIZE);
    if (row >= N) return;
    size_t off = (size_t)row * C;
    for (int c = lane; c < C; c += WARP_SIZE)
        sum[off + c] = from_float<T>(to_float(x[off + c]) + to_float(branch[off + c]));
    layernorm_row(out + off, mean, rstd, sum + off, weight, bias, row, C, lane);
}

// din += rstd * (dnorm - mean(dnorm) - norm * mean(dnorm * norm)), dnorm = dout * weight.
template <typename T>
__device__ void layernorm_backward_input(T* din, const T* dout, const T* in, const T* weight, const float* mean,
                                         const float* rstd, int N, int C) {
    int lane = threadIdx.x % WARP_SIZE;
    int row = (int)(((size_t)blockIdx.x * blockDim.x + threadIdx.x) / WARP_SIZE);
    if (row >= N) return;
    size_t off = (size_t)row * C;
    float m = mean[row], s = rstd[row];
    float dsum = 0.0f, dnsum = 0.0f;
    for (int c = lane; c < C; c += WARP_SIZE) {
        float dnorm = to_float(dout[off + c]) * to_float(weight[c]);
        dsum += dnorm;
        dnsum += dnorm * (to_float(in[off + c]) - m) * s;
    }
    float dmean = warp_sum(dsum) / C, dnmean = warp_sum(dnsum) / C;
    for (int c = lane; c < C; c += WARP_SIZE) {
        float norm = (to_float(in[off + c]) - m) * s;
        float dnorm = to_float(dout[off + c]) * to_float(weight[c]);
        din[off + c] = from_float<T>(to_float(din[off + c]) + (dnorm - dmean - norm * dnmean) * s);
    }
}

// The parameter gradients dweight[c] = sum_n dout[n,c] * norm[n,c] and dbias[c] = sum_n dout[n,c] in two steps,
// so that all SMs share the work (one block per 32 columns alone would be C/32 blocks, 24 for GPT-2 small) and
// the order of the sums is fixed: first partial sums over groups of `rows` rows into partials (groups, 2, C),
// then layernorm_params_reduce adds the groups in order.
// Block (32, 32) per (32-column tile, row group), blockIdx.x = group * tiles + tile: x picks the column, y strides
// over the group's rows, and the 32 partials of a column combine in a fixed order.
template <typename T>
__device__ void layernorm_backward_params(float* partials, const T* dout, const T* in, const float* mean,
                                          const float* rstd, int N, int C, int rows) {
    __shared__ float sw[32][33];
    __shared__ float sb[32][33];
    int tiles = (C + 31) / 32;
    int group = blockIdx.x / tiles;
    int c = (blockIdx.x % tiles) * 32 + threadIdx.x;
    int first = group * rows, last = min(N, first + rows);
    float w = 0.0f, b = 0.0f;
    if (c < C) {
        for (int n = first + threadIdx.y; n < last; n += blockDim.y) {
            size_t i = (size_t)n * C + c;
            float g = to_float(dout[i]);
            w += g * (to_float(in[i]) - mean[n]) * rstd[n];
            b += g;
        }
    }
    sw[threadIdx.y][threadIdx.x] = w;
    sb[threadIdx.y][threadIdx.x] = b;
    __syncthreads();
    if (threadIdx.y == 0 && c < C) {
        for (int y = 1; y < blockDim.y; y++) {
            w += sw[y][threadIdx.x];
            b += sb[y][threadIdx.x];
        }
        partials[(size_t)group * 2 * C + c] = w;
        partials[((size_t)group * 2 + 1) * C + c] = b;
    }
}

// dweight[c] += sum over groups of partials[g][0][c]; dbias[c] += the same of partials[g][1][c], in group order.
extern "C" __global__ void layernorm_params_reduce(float* dweight, float* dbias, const float* partials, int groups,
                                                   int C) {
    GRID_STRIDE(c, C) {
        float w = 0.0f, b = 0.0f;
        for (int g = 0; g < groups; g++) {
            w += partials[(size_t)g * 2 * C + c];
            b += partials[((size_t)g * 2 + 1) * C + c];
        }
        dweight[c] += w;
        dbias[c] += b;
    }
}

extern "C" __global__ void layernorm_forward_f32(float* out, float* mean, float* rstd, const float* in,
                                                 const float* weight, const float* bias, int N, int C) {
    layernorm_forward(out, mean, rstd, in, weight, bias, N, C);
}
extern "C" __global__ void layernorm_forward_bf16(__nv_bfloat16* out, float* mean, float* rstd,
                                                  const __nv_bfloat16* in, const __nv_bfloat16* weight,
                                                  const __nv_bfloat16* bias, int N, int C) {
    layernorm_forward(out, mean, rstd, in, weight, bias, N, C);
}
extern "C" __global__ void layernorm_backward_input_f32(float* din, const float* dout, const float* in,
                                                        const float* weight, const float* mean, const float* rstd,
                                                        int N, int C) {
    layernorm_backward_input(din, dout, in, weight, mean, rstd, N, C);
}
extern "C" __global__ void layernorm_backward_input_bf16(__nv_bfloat16* din, const __nv_bfloat16* dout,
                                                         const __nv_bfloat16* in, const __nv_bfloat16* weight,
                                                         const float* mean, const float* rstd, int N, int C) {
    layernorm_backward_input(din, dout, in, weight, mean, rstd, N, C);
}
extern "C" __global__ void layernorm_backward_params_f32(float* partials, const float* dout, const float* in,
                                                         const float* mean, const float* rstd, int N, int C,
                                                         int rows) {
    layernorm_backward_params(partials, dout, in, mean, rstd, N, C, rows);
}
extern "C" __global__ void layernorm_backward_params_bf16(float* partials, const __nv_bfloat16* dout,
                                                          const __nv_bfloat16* in, const float* mean,
                                                          const float* rstd, int N, int C, int rows) {
    layernorm_backward_params(partials, dout, in, mean, rstd, N, C, rows);
}
extern "C" __global__ void residual_layernorm_forward_f32(float* sum, float* out, float* mean, float* rstd,
                                                          const float* x, const float* branch, const float* weight,
                                                          const float* bias, int N, int C) {
    residual_layernorm_forward(sum, out, mean, rstd, x, branch, weight, bias, N, C);
}
extern "C" __global__ void residual_layernorm_forward_bf16(__nv_bfloat16* sum, __nv_bfloat16* out, float* mean,
                                                           float* rstd, const __nv_bfloat16* x,
                                                           const __nv_bfloat16* branch, const __nv_bfloat16* weight,
                                                           const __nv_bfloat16* bias, int N, int C) {
    residual_layernorm_forward(sum, out, mean, rstd, x, branch, weight, bias, N, C);
}
