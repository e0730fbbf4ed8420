package io.jgpt.cuda.blas;

import jcuda.Pointer;
import jcuda.driver.CUstream;

/**
 * The few cuBLAS calls jgpt needs, with cuBLAS's own column-major semantics. Two bindings implement it:
 * JCublas2 (links libcublas.so.12, so CUDA 12 systems only) and a Foreign Function &amp; Memory binding that
 * loads whichever libcublas.so.N the system has. {@link BlasLoader} picks one.
 */
public interface Blas extends AutoCloseable {

    /** e.g. "jcublas2" or "ffm:/usr/local/cuda/lib64/libcublas.so.13". */
    String name();

    /** Queue all following calls on this stream. */
    void setStream(CUstream stream);

    /** TF32 tensor-core math for fp32 GEMMs (faster, about 1e-3 relative error) or strict fp32. */
    void setTf32(boolean enabled);

    /** C = alpha * op(A) * op(B) + beta * C, column-major, device pointers. */
    void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, Pointer a, int lda,
               Pointer b, int ldb, float beta, Pointer c, int ldc);

    /**
     * C = alpha * op(A) * op(B) + beta * C with bf16 A and B, fp32 accumulation and scaling, and C in bf16 or
     * fp32 ({@code cBf16}), column-major: cublasGemmEx, the fallback for shapes cuBLASLt has no algorithm for.
     */
    void gemmBf16(boolean transA, boolean transB, int m, int n, int k, float alpha, Pointer a, int lda,
                  Pointer b, int ldb, float beta, Pointer c, int ldc, boolean cBf16);

    @Override
    void close();
}
