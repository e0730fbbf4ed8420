// Fused softmax + cross-entropy + logits gradient: mirrors Ops.crossEntropy. One block per row; three
// passes over the row's V logits (max, sum of exponentials, loss/gradient). Logits and their gradient are
// stored as T (float or bf16); the reductions and the losses are fp32.
#include "common.cuh"
#include "storage.cuh"

#define IGNORE_INDEX (-100)

// losses[r] = -log softmax(logits[r])[targets[r]] (0 for ignored rows). When dlogits is non-null it is
// overwritten with (softmax - onehot) * dlossScale, zero for ignored rows; it may alias logits because
// each element is read and then written by the same thread, after the reductions have finished.
// A target outside [0, V) other than -100 is reported through err and its row treated as ignored.
template <typename T>
__device__ void cross_entropy_forward_backward(float* losses, T* dlogits, const T* logits, const int* targets,
                                               int N, int V, float dlossScale, int* err) {
    __shared__ float scratch[WARP_SIZE];
    int row = blockIdx.x;
    if (row >= N) return;
    const T* x = logits + (size_t)row * V;
    T* dx = dlogits ? dlogits + (size_t)row * V : nullptr;
    int target = targets[row];
    bool valid = target >= 0 && target < V;
    if (!valid) {
        if (threadIdx.x == 0) {
            losses[row] = 0.0f;
            if (target != IGNORE_INDEX) report_error(err, JGPT_ERR_TARGET, row, target);
        }
        if (dx)
            for (int i = threadIdx.x; i < V; i += blockDim.x) dx[i] = from_float<T>(0.0f);
        return;
    }
    float mx = -INFINITY;
    for (int i = threadIdx.x; i < V; i += blockDim.x) mx = fmaxf(mx, to_float(x[i]));
    mx = block_max(mx, scratch);
    float sum = 0.0f;
    for (int i = threadIdx.x; i < V; i += blockDim.x) sum += expf(to_float(x[i]) - mx);
    sum = block_sum(sum, scratch);
    if (threadIdx.x == 0) losses[row] = logf(sum) - (to_float(x[target]) - mx);
    if (dx) {
        // Everyone must have read x[target] before anyone overwrites it when dlogits aliases logits.
        __syncthreads();
        float inv = 1.0f / sum;
        for (int i = threadIdx.x; i < V; i += blockDim.x) {
            float p = expf(to_float(x[i]) - mx) * inv;
            dx[i] = from_float<T>((p - (i == target ? 1.0f : 0.0f)) * dlossScale);
        }
    }
}

extern "C" __global__ void cross_entropy_forward_backward_f32(float* losses, float* dlogits, const float* logits,
                                                              const int* targets, int N, int V, float dlossScale,
                                                              int* err) {
    cross_entropy_forward_backward(losses, dlogits, logits, targets, N, V, dlossScale, err);
}

extern "C" __global__ void cross_entropy_forward_backward_bf16(float* losses, __nv_bfloat16* dlogits,
                                                               const __nv_bfloat16* logits, const int* targets,
                                                               int N, int V, float dlossScale, int* err) {
    cross_entropy_forward_backward(losses, dlogits, logits, targets, N, V, dlossScale, err);
}
