package io.jgpt.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.jgpt.cuda.blas.Blas;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Random;
import jcuda.Pointer;
import jcuda.driver.CUstream;
import org.junit.jupiter.api.Test;

/**
 * The row-major to column-major mapping of {@link CudaOps}'s GEMMs, without a GPU: a host stand-in for cuBLAS
 * implements column-major sgemm exactly as cuBLAS defines it (including its leading-dimension checks), and
 * every GEMM CudaOps issues, with the same arguments as at its call site, must equal the naive row-major
 * product the Ops contract asks for.
 */
class GemmMappingTest {

    private static final int N = 7, IC = 5, OC = 6; // linear: rows, in, out
    private static final int BATCH = 3, T = 4, HS = 3; // attention: B*NH, time, head size

    /** Column-major cuBLAS semantics on host arrays that the test registers for each Pointer. */
    static final class HostBlas implements Blas {
        final Map<Pointer, float[]> memory = new IdentityHashMap<>();

        Pointer put(float[] data) {
            Pointer p = new Pointer();
            memory.put(p, data);
            return p;
        }

        public String name() { return "host"; }
        public void setStream(CUstream stream) {}
        public void setTf32(boolean enabled) {}
        public void close() {}

        public void gemmBf16(boolean ta, boolean tb, int m, int n, int k, float alpha, Pointer a, int lda, Pointer b,
                             int ldb, float beta, Pointer c, int ldc, boolean cBf16) {
            throw new UnsupportedOperationException("the fp32 GEMM mappings are checked here");
        }

        public void sgemm(boolean ta, boolean tb, int m, int n, int k, float alpha, Pointer a, int lda, Pointer b,
                          int ldb, float beta, Pointer c, int ldc) {
            // cuBLAS returns CUBLAS_STATUS_INVALID_VALUE for these.
            if (lda < Math.max(1, ta ? k : m) || ldb < Math.max(1, tb ? n : k) || ldc < Math.max(1, m))
                throw new IllegalArgumentException("invalid leading dimension: m=" + m + " n=" + n + " k=" + k
                        + " lda=" + lda + " ldb=" + ldb + " ldc=" + ldc + " ta=" + ta + " tb=" + tb);
            float[] A = memory.get(a), B = memory.get(b), C = memory.get(c);
            for (int j = 0; j < n; j++) {
                for (int i = 0; i < m; i++) {
                    double s = 0;
                    for (int l = 0; l < k; l++) {
                        float x = A[ta ? l + i * lda : i + l * lda];
                        float y = B[tb ? j + l * ldb : l + j * ldb];
                        s += (double) x * y;
                    }
                    int at = i + j * ldc;
                    C[at] = (float) (alpha * s + (beta == 0f ? 0.0 : beta * (double) C[at]));
                }
            }
        }
    }

    private final Random random = new Random(1);
    private final HostBlas blas = new HostBlas();

    @Test
    void linearForwardIsInTimesWeightTransposed() {
        float[] in = rand(N * IC), w = rand(OC * IC), out = rand(N * OC);
        CudaOps.rowMajorSgemm(blas, false, true, N, OC, IC, blas.put(in), IC, blas.put(w), IC, 0f, blas.put(out), OC);
        float[] want = new float[N * OC];
        for (int n = 0; n < N; n++)
            for (int o = 0; o < OC; o++)
                for (int i = 0; i < IC; i++) want[n * OC + o] += in[n * IC + i] * w[o * IC + i];
        assertClose(want, out);
    }

    @Test
    void linearBackwardAccumulatesInputAndWeightGradients() {
        float[] dout = rand(N * OC), w = rand(OC * IC), in = rand(N * IC), din = rand(N * IC), dw = rand(OC * IC);
        float[] wantDin = din.clone(), wantDw = dw.clone();
        for (int n = 0; n < N; n++)
            for (int i = 0; i < IC; i++)
                for (int o = 0; o < OC; o++) wantDin[n * IC + i] += dout[n * OC + o] * w[o * IC + i];
        for (int o = 0; o < OC; o++)
            for (int i = 0; i < IC; i++)
                for (int n = 0; n < N; n++) wantDw[o * IC + i] += dout[n * OC + o] * in[n * IC + i];
        Pointer pDout = blas.put(dout), pW = blas.put(w), pIn = blas.put(in);
        CudaOps.rowMajorSgemm(blas, false, false, N, IC, OC, pDout, OC, pW, IC, 1f, blas.put(din), IC);
        CudaOps.rowMajorSgemm(blas, true, false, OC, IC, N, pDout, OC, pIn, IC, 1f, blas.put(dw), IC);
        assertClose(wantDin, din);
        assertClose(wantDw, dw);
    }

    private float[] rand(int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = random.nextFloat() * 2 - 1;
        return x;
    }

    private static void assertClose(float[] want, float[] got) {
        for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], 1e-5, "element " + i);
    }
}
