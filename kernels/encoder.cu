// Token + position embeddings: mirrors Ops.embeddingForward / Ops.embeddingBackward.
#include "common.cuh"

// out[bt, c] = wte[tokens[bt], c] + wpe[bt % T, c]. A token outside [0, V) is reported through err and
// its row is written as zeros, so a bad id never reads out of bounds.
extern "C" __global__ void embedding_forward(float* out, const int* tokens, const float* wte,
                                             const float* wpe, int BT, int T, int C, int V, int* err) {
    GRID_STRIDE(i, (size_t)BT * C) {
        int bt = (int)(i / C), c = (int)(i % C);
        int tok = tokens[bt];
        if (tok < 0 || tok >= V) {
            if (c == 0) report_error(err, JGPT_ERR_TOKEN, bt, tok);
            out[i] = 0.0f;
        } else {
            out[i] = wte[(size_t)tok * C + c] + wpe[(size_t)(bt % T) * C + c];
        }
    }
}

// dwte[tokens[bt], c] += dout[bt, c]. Rows sharing a token collide, so this uses atomicAdd: the sum is
// exact up to fp32 rounding but its order (hence the last bits) varies run to run.
extern "C" __global__ void embedding_backward_wte(float* dwte, const float* dout, const int* tokens,
                                                  int BT, int C, int V) {
    GRID_STRIDE(i, (size_t)BT * C) {
        int bt = (int)(i / C), c = (int)(i % C);
        int tok = tokens[bt];
        if (tok >= 0 && tok < V) atomicAdd(&dwte[(size_t)tok * C + c], dout[i]);
    }
}

// dwpe[t, c] += sum_b dout[b, t, c], one thread per (t, c) summing b in order: deterministic.
extern "C" __global__ void embedding_backward_wpe(float* dwpe, const float* dout, int B, int T, int C) {
    GRID_STRIDE(i, (size_t)T * C) {
        float sum = 0.0f;
        for (int b = 0; b < B; b++) sum += dout[(size_t)b * T * C + i];
        dwpe[i] += sum;
    }
}
