// Head layout changes around the batched attention GEMMs: mirrors the split of qkv (B,T,3C) into heads
// and the re-joining of heads into (B,T,C) in Ops.attentionForward / attentionBackward.
#include "common.cuh"

// Element i = ((b*NH + h)*T + t)*hs + d of a head-major (B,NH,T,hs) tensor, as an index into the row layout
// (B,T,stride) where head h's channels start at offset + h*hs.
__device__ __forceinline__ size_t row_layout_index(size_t i, int T, int NH, int hs, int stride, int offset) {
    int d = (int)(i % hs);
    size_t r = i / hs;
    int t = (int)(r % T);
    r /= T;
    int h = (int)(r % NH);
    size_t b = r / NH;
    return (b * T + t) * stride + offset + (size_t)h * hs + d;
}

// dst[b,h,t,d] (B,NH,T,hs) = src[(b*T + t) * srcStride + srcOffset + h*hs + d].
extern "C" __global__ void heads_split(float* dst, const float* src, int B, int T, int NH, int hs,
                                       int srcStride, int srcOffset) {
    GRID_STRIDE(i, (size_t)B * NH * T * hs) dst[i] = src[row_layout_index(i, T, NH, hs, srcStride, srcOffset)];
}

// dst[(b*T + t) * dstStride + dstOffset + h*hs + d] = (or += when accumulate) src[b,h,t,d].
extern "C" __global__ void heads_merge(float* dst, const float* src, int B, int T, int NH, int hs,
                                       int dstStride, int dstOffset, int accumulate) {
    GRID_STRIDE(i, (size_t)B * NH * T * hs) {
        size_t j = row_layout_index(i, T, NH, hs, dstStride, dstOffset);
        dst[j] = accumulate ? dst[j] + src[i] : src[i];
    }
}
