// fp32 -> bf16 narrowing with round-to-nearest-even (cvt.rn.bf16.f32 on sm_80+), the rule io.jgpt.tensor.Bf16
// mirrors on the CPU: Ops.copy from an F32 into a BF16 tensor (the bf16 copy of fp32 master weights that the
// forward reads), and what Bf16ExhaustiveGpuTest checks over all 2^32 float bit patterns.
#include "common.cuh"
#include <cuda_bf16.h>

extern "C" __global__ void bf16_narrow(__nv_bfloat16* out, const float* in, size_t n) {
    GRID_STRIDE(i, n) out[i] = __float2bfloat16_rn(in[i]);
}
