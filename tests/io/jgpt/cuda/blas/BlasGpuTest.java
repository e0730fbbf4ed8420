package io.jgpt.cuda.blas;

import static jcuda.driver.JCudaDriver.cuMemFree;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.jgpt.tensor.Bf16;
import java.util.Random;
import jcuda.Pointer;
import jcuda.Sizeof;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Both bindings against a naive host GEMM, on a real device; skipped where there is none. */
@Tag("gpu")
class BlasGpuTest {

    private static final int M = 37, N = 53, K = 61;
    private static TestDevice gpu;
    private static CUstream stream;

    @BeforeAll
    static void context() {
        gpu = TestDevice.open();
        stream = gpu.stream;
    }

    @AfterAll
    static void release() {
        if (gpu != null) gpu.close();
    }

    private static Blas open(String binding) {
        if (binding.equals("jcublas")) {
            try {
                return BlasLoader.open(binding);
            } catch (IllegalStateException e) {
                Assumptions.abort("JCublas2 needs libcublas.so.12: " + e.getMessage());
            }
        }
        return BlasLoader.open(binding);
    }

    @ParameterizedTest
    @ValueSource(strings = {"ffm", "jcublas"})
    void sgemmMatchesHostForEveryTransposeAndMathMode(String binding) {
        try (Blas blas = open(binding)) {
            blas.setStream(stream);
            for (boolean tf32 : new boolean[] {false, true}) {
                blas.setTf32(tf32);
                for (boolean ta : new boolean[] {false, true}) {
                    for (boolean tb : new boolean[] {false, true}) {
                        checkGemm(blas, ta, tb, tf32 ? 2e-2 : 1e-4);
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"ffm", "jcublas"})
    void gemmBf16MatchesHost(String binding) {
        try (Blas blas = open(binding)) {
            blas.setStream(stream);
            checkGemmBf16(blas, true, false, false);
            checkGemmBf16(blas, true, false, true);
            checkGemmBf16(blas, false, true, false);
        }
    }

    /**
     * C = 1.5 op(A) op(B) + 0.5 C with bf16 A and B: products of bf16 values are exact in fp32, so an fp32 C
     * differs from the double sum by fp32 accumulation only (bound 1e-4 relative); a bf16 C adds one rounding
     * (2^-8 of the value).
     */
    private static void checkGemmBf16(Blas blas, boolean ta, boolean tb, boolean cBf16) {
        Random r = new Random(8);
        int lda = ta ? K : M, ldb = tb ? N : K, ldc = M;
        float[] a = bf16(r, lda * (ta ? M : K)), b = bf16(r, ldb * (tb ? K : N)), c = bf16(r, ldc * N);
        CUdeviceptr dA = gpu.upload(bits(a)), dB = gpu.upload(bits(b)), dC = cBf16 ? gpu.upload(bits(c)) : gpu.upload(c);
        try {
            blas.gemmBf16(ta, tb, M, N, K, 1.5f, dA, lda, dB, ldb, 0.5f, dC, ldc, cBf16);
            float[] got = cBf16 ? widen(gpu.shorts(dC, c.length)) : gpu.floats(dC, c.length);
            for (int j = 0; j < N; j++) {
                for (int i = 0; i < M; i++) {
                    double sum = product(a, 0, lda, ta, b, 0, ldb, tb, i, j);
                    double want = 1.5 * sum + 0.5 * c[i + j * ldc];
                    assertEquals(want, got[i + j * ldc], 1e-4 * (1 + Math.abs(want)) + (cBf16 ? Math.abs(want) / 256 : 0),
                            blas.name() + " bf16 ta=" + ta + " tb=" + tb + " bf16 C=" + cBf16 + " at (" + i + "," + j + ")");
                }
            }
        } finally {
            cuMemFree(dA);
            cuMemFree(dB);
            cuMemFree(dC);
        }
    }

    /** Element (i, j) of op(A) op(B) in double, column-major, the matrices starting at aBase and bBase. */
    private static double product(float[] a, int aBase, int lda, boolean ta, float[] b, int bBase, int ldb, boolean tb,
                                  int i, int j) {
        double sum = 0;
        for (int l = 0; l < K; l++) {
            sum += (double) a[aBase + (ta ? l + i * lda : i + l * lda)] * b[bBase + (tb ? j + l * ldb : l + j * ldb)];
        }
        return sum;
    }

    private static float[] bf16(Random r, int n) {
        float[] x = random(r, n);
        Bf16.round(x);
        return x;
    }

    private static short[] bits(float[] x) {
        short[] s = new short[x.length];
        for (int i = 0; i < x.length; i++) s[i] = Bf16.fromFloat(x[i]);
        return s;
    }

    private static float[] widen(short[] s) {
        float[] x = new float[s.length];
        for (int i = 0; i < s.length; i++) x[i] = Bf16.toFloat(s[i]);
        return x;
    }

    /** C = 1.5 * op(A) op(B) + 0.5 * C, column-major; A sits 16 floats into its buffer to exercise offsets. */
    private static void checkGemm(Blas blas, boolean ta, boolean tb, double tol) {
        Random r = new Random(7);
        int lda = ta ? K : M, ldb = tb ? N : K, ldc = M;
        int sizeA = lda * (ta ? M : K), sizeB = ldb * (tb ? K : N), sizeC = ldc * N;
        float[] a = random(r, 16 + sizeA), b = random(r, sizeB), c = random(r, sizeC);
        CUdeviceptr dA = gpu.upload(a), dB = gpu.upload(b), dC = gpu.upload(c);
        try {
            Pointer a0 = dA.withByteOffset(16L * Sizeof.FLOAT);
            blas.sgemm(ta, tb, M, N, K, 1.5f, a0, lda, dB, ldb, 0.5f, dC, ldc);
            float[] got = gpu.floats(dC, c.length);
            for (int j = 0; j < N; j++) {
                for (int i = 0; i < M; i++) {
                    double sum = product(a, 16, lda, ta, b, 0, ldb, tb, i, j);
                    int at = i + j * ldc;
                    double want = 1.5 * sum + 0.5 * c[at];
                    assertEquals(want, got[at], tol * (1 + Math.abs(want)),
                            blas.name() + " ta=" + ta + " tb=" + tb + " at (" + i + "," + j + ")");
                }
            }
        } finally {
            cuMemFree(dA);
            cuMemFree(dB);
            cuMemFree(dC);
        }
    }

    private static float[] random(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
        return x;
    }
}
