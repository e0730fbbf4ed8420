// LayerNorm over the last dimension (eps 1e-5, biased variance): mirrors Ops.layerNormForward /
// Ops.layerNormBackward. One warp per row; the weight/bias gradients are column sums done separately so
// they are deterministic. Rows, weight and bias are stored as T; statistics, parameter gradients and all
// arithmetic are float.
#include "common.cuh"

// Launch with blockDim.x a multiple of 32; row = global warp index.
template <typename T>
__device__ void layernorm_forward(T* out, float* mean, float* rstd, const T* in, const T* weight, const T* bias,
                                  int N, int C) {
    int lane = threadIdx.x % WARP_SIZE;
    int row = (int)(((size_t)blockIdx.x * blockDim.x + threadIdx.x) / WARP_SIZE);
    if (row >= N) return;
    const T* x = in + (size_t)row * C;
    float sum = 0.0f;
    for (int c = lane; c < C; c += WARP_SIZE) sum += to_float(x[c]);
    float m = warp_sum(sum) / C;
    float sq = 0.0f;
    for (int c = lane; c < C; c += WARP_SIZE) {
        float d = to_float(x[c]) - m;
        sq += d * d;
    }
    float s = 1.0f / sqrtf(warp_sum(sq) / C + 1e-5f);
    T* y = out + (size_t)row * C;
    for (int c = lane; c < C; c += WARP_SIZE)
        y[c] = from_float<T>((to_float(x[c]) - m) * s * to_float(weight[c]) + to_float(bias[c]));
    if (lane == 0) {
        mean[row] = m;
        rstd[row] = s;
    }
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

// dweight[c] += sum_n dout[n,c] * norm[n,c]; dbias[c] += sum_n dout[n,c]. Block (32, 32): x picks the
// column inside a 32-column tile, y strides over rows; partial sums combine in a fixed order.
template <typename T>
__device__ void layernorm_backward_params(float* dweight, float* dbias, const T* dout, const T* in, const float* mean,
                                          const float* rstd, int N, int C) {
    __shared__ float sw[32][33];
    __shared__ float sb[32][33];
    int c = blockIdx.x * 32 + threadIdx.x;
    float w = 0.0f, b = 0.0f;
    if (c < C) {
        for (int n = threadIdx.y; n < N; n += blockDim.y) {
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
extern "C" __global__ void layernorm_backward_params_f32(float* dweight, float* dbias, const float* dout,
                                                         const float* in, const float* mean, const float* rstd,
                                                         int N, int C) {
    layernorm_backward_params(dweight, dbias, dout, in, mean, rstd, N, C);
}
extern "C" __global__ void layernorm_backward_params_bf16(float* dweight, float* dbias, const __nv_bfloat16* dout,
                                                          const __nv_bfloat16* in, const float* mean,
                                                          const float* rstd, int N, int C) {
    layernorm_backward_params(dweight, dbias, dout, in, mean, rstd, N, C);
}
