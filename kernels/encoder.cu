// Token + position embeddings: mirrors Ops.embeddingForward / Ops.embeddingBackward. Tables and activations
// are stored as T; the table gradients are float.
#include "common.cuh"

// out[bt, c] = wte[tokens[bt], c] + wpe[bt % T, c]. A token outside [0, V) is reported through err and
// its row is written as zeros, so a bad id never reads out of bounds.
template <typename T>
__device__ void embedding_forward(T* out, const int* tokens, const T* wte, const T* wpe, int BT, int T_, int C, int V,
                                  int* err) {
    GRID_STRIDE(i, (size_t)BT * C) {
        int bt = (int)(i / C), c = (int)(i % C);
        int tok = tokens[bt];
        if (tok < 0 || tok >= V) {
            if (c == 0) report_error(err, JGPT_ERR_TOKEN, bt, tok);
            out[i] = from_float<T>(0.0f);
        } else {
            out[i] = from_float<T>(to_float(wte[(size_t)tok * C + c]) + to_float(wpe[(size_t)(bt % T_) * C + c]));
        }
    }
}

// dwte[tokens[bt], c] += dout[bt, c]. Rows sharing a token collide, so this uses atomicAdd: the sum is
// exact up to fp32 rounding but its order (hence the last bits) varies run to run.
template <typename T>
__device__ void embedding_backward_wte(float* dwte, const T* dout, const int* tokens, int BT, int C, int V) {
    GRID_STRIDE(i, (size_t)BT * C) {
        int bt = (int)(i / C), c = (int)(i % C);
        int tok = tokens[bt];
        if (tok >= 0 && tok < V) atomicAdd(&dwte[(size_t)tok * C + c], to_float(dout[i]));
    }
}

// dwpe[t, c] += sum_b dout[b, t, c], one thread per (t, c) summing b in order: deterministic.
template <typename T> __device__ void embedding_backward_wpe(float* dwpe, const T* dout, int B, int T_, int C) {
    GRID_STRIDE(i, (size_t)T_ * C) {
        float sum = 0.0f;
        for (int b = 0; b < B; b++) sum += to_float(dout[(size_t)b * T_ * C + i]);
        dwpe[i] += sum;
    }
}

extern "C" __global__ void embedding_forward_f32(float* out, const int* tokens, const float* wte, const float* wpe,
                                                 int BT, int T, int C, int V, int* err) {
    embedding_forward(out, tokens, wte, wpe, BT, T, C, V, err);
}
extern "C" __global__ void embedding_forward_bf16(__nv_bfloat16* out, const int* tokens, const __nv_bfloat16* wte,
                                                  const __nv_bfloat16* wpe, int BT, int T, int C, int V, int* err) {
    embedding_forward(out, tokens, wte, wpe, BT, T, C, V, err);
}
extern "C" __global__ void embedding_backward_wte_f32(float* dwte, const float* dout, const int* tokens, int BT,
                                                      int C, int V) {
    embedding_backward_wte(dwte, dout, tokens, BT, C, V);
}
extern "C" __global__ void embedding_backward_wte_bf16(float* dwte, const __nv_bfloat16* dout, const int* tokens,
                                                       int BT, int C, int V) {
    embedding_backward_wte(dwte, dout, tokens, BT, C, V);
}
extern "C" __global__ void embedding_backward_wpe_f32(float* dwpe, const float* dout, int B, int T, int C) {
    embedding_backward_wpe(dwpe, dout, B, T, C);
}
extern "C" __global__ void embedding_backward_wpe_bf16(float* dwpe, const __nv_bfloat16* dout, int B, int T, int C) {
    embedding_backward_wpe(dwpe, dout, B, T, C);
}
