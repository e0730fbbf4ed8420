// Head layout changes around the batched attention GEMMs: mirrors the split of qkv (B,T,3C) into heads
// and the re-joining of heads into (B,T,C) in Ops.attentionForward / attentionBackward.
#include "common.cuh"

// dst[b,h,t,d] (B,NH,T,hs) = src[(b*T + t) * srcStride + srcOffset + h*hs + d].
extern "C" __global__ void heads_split(float* dst, const float* src, int B, int T, int NH, int hs,
                                       int srcStride, int srcOffset) {
    GRID_STRIDE(i, (size_t)B * NH * T * hs) {
        int d = (int)(i % hs);
        size_t r = i / hs;
        int t = (int)(r % T);
        r /= T;
        int h = (int)(r % NH);
        int b = (int)(r / NH);
        dst[i] = src[((size_t)b * T + t) * srcStride + srcOffset + h * hs + d];
    }
}

// dst[(b*T + t) * dstStride + dstOffset + h*hs + d] = (or += when accumulate) src[b,h,t,d].
extern "C" __global__ void heads_merge(float* dst, const float* src, int B, int T, int NH, int hs,
                                       int dstStride, int dstOffset, int accumulate) {
    GRID_STRIDE(i, (size_t)B * NH * T * hs) {
        int d = (int)(i % hs);
        size_t r = i / hs;
        int t = (int)(r % T);
        r /= T;
        int h = (int)(r % NH);
        int b = (int)(r / NH);
        size_t j = ((size_t)b * T + t) * dstStride + dstOffset + h * hs + d;
        dst[j] = accumulate ? dst[j] + src[i] : src[i];
    }
}
