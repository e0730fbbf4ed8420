package io.jgpt.cuda.blas;

import jcuda.CudaException;
import jcuda.Pointer;
import jcuda.driver.CUstream;
import jcuda.jcublas.JCublas2;
import jcuda.jcublas.cublasHandle;
import jcuda.jcublas.cublasMath;
import jcuda.jcublas.cublasOperation;
import jcuda.runtime.cudaStream_t;

/**
 * cuBLAS through JCublas2. Its JNI library links libcublas.so.12, so constructing this class fails with a
 * {@link LinkageError} where only another major version is installed; {@link BlasLoader} then uses
 * {@link FfmCublas}.
 */
final class JCublasBlas implements Blas {

    private final cublasHandle handle = new cublasHandle();
    // Host scalars: cuBLAS's default pointer mode reads them before the call returns.
    private final float[] alpha = new float[1], beta = new float[1];
    private final Pointer alphaPtr = Pointer.to(alpha), betaPtr = Pointer.to(beta);

    JCublasBlas() {
        JCublas2.setExceptionsEnabled(true);
        call(() -> JCublas2.cublasCreate(handle), "cublasCreate()");
    }

    @Override
    public String name() {
        return "jcublas2";
    }

    @Override
    public void setStream(CUstream stream) {
        call(() -> JCublas2.cublasSetStream(handle, new cudaStream_t(stream)), "cublasSetStream(" + stream + ")");
    }

    @Override
    public void setTf32(boolean enabled) {
        int mode = enabled ? cublasMath.CUBLAS_TF32_TENSOR_OP_MATH : cublasMath.CUBLAS_DEFAULT_MATH;
        call(() -> JCublas2.cublasSetMathMode(handle, mode), "cublasSetMathMode(" + mode + ")");
    }

    @Override
    public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, Pointer a, int lda,
                      Pointer b, int ldb, float beta, Pointer c, int ldc) {
        this.alpha[0] = alpha;
        this.beta[0] = beta;
        try {
            JCublas2.cublasSgemm(handle, op(transA), op(transB), m, n, k, alphaPtr, a, lda, b, ldb, betaPtr, c, ldc);
        } catch (CudaException e) {
            throw new IllegalStateException(("cublasSgemm(transA=%b, transB=%b, m=%d, n=%d, k=%d, alpha=%g, "
                    + "lda=%d, ldb=%d, beta=%g, ldc=%d) failed: %s")
                    .formatted(transA, transB, m, n, k, alpha, lda, ldb, beta, ldc, e.getMessage()), e);
        }
    }

    @Override
    public void gemmBf16(boolean transA, boolean transB, int m, int n, int k, float alpha, Pointer a, int lda,
                         Pointer b, int ldb, float beta, Pointer c, int ldc, boolean cBf16) {
        this.alpha[0] = alpha;
        this.beta[0] = beta;
        int bf16 = CublasLt.Type.BF16.code, cType = cBf16 ? bf16 : CublasLt.Type.F32.code;
        call(() -> JCublas2.cublasGemmEx(handle, op(transA), op(transB), m, n, k, alphaPtr, a, bf16, lda, b, bf16,
                ldb, betaPtr, c, cType, ldc, CublasLt.CUBLAS_COMPUTE_32F, CublasLt.CUBLAS_GEMM_DEFAULT),
                "cublasGemmEx(bf16 A/B, " + (cBf16 ? "bf16" : "fp32") + " C, m=" + m + ", n=" + n + ", k=" + k + ")");
    }

    @Override
    public void close() {
        call(() -> JCublas2.cublasDestroy(handle), "cublasDestroy()");
    }

    private static int op(boolean trans) {
        return trans ? cublasOperation.CUBLAS_OP_T : cublasOperation.CUBLAS_OP_N;
    }

    private static void call(Runnable r, String what) {
        try {
            r.run();
        } catch (CudaException e) {
            throw new IllegalStateException(what + " failed: " + e.getMessage(), e);
        }
    }
}
