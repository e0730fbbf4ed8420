package io.jgpt.cuda;

import io.jgpt.cuda.blas.Blas;
import jcuda.Pointer;
import jcuda.driver.CUstream;

/** A cuBLAS stand-in for {@link RecordingDriver}: counts GEMMs and computes nothing. */
final class NoBlas implements Blas {
    int gemms;

    @Override
    public String name() {
        return "none";
    }

    @Override
    public void setStream(CUstream stream) {}

    @Override
    public void setTf32(boolean enabled) {}

    @Override
    public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, Pointer a, int lda, Pointer b,
                      int ldb, float beta, Pointer c, int ldc) {
        gemms++;
    }

    @Override
    public void gemmBf16(boolean transA, boolean transB, int m, int n, int k, float alpha, Pointer a, int lda, Pointer b,
                         int ldb, float beta, Pointer c, int ldc, boolean cBf16) {
        gemms++;
    }

    @Override
    public void close() {}
}
