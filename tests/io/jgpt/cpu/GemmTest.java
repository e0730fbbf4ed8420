package io.jgpt.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The blocked kernel against a naive triple loop, on sizes that are not multiples of any tile or vector width. */
class GemmTest {

    private static final Parallel PARALLEL = new Parallel(2);
    private static final Gemm GEMM = new Gemm(PARALLEL);
    /** Packs at most a few KC steps of the shared B at a time (tall products), so k is split into super-blocks. */
    private static final Gemm SMALL_BUDGET = new Gemm(PARALLEL, 64 * Gemm.KC);

    @AfterAll
    static void close() {
        PARALLEL.close();
    }

    @ParameterizedTest
    @CsvSource({"1,1,1", "7,33,5", "13,47,300", "151,290,259", "6,32,16"})
    void matchesNaiveLoopForEveryOperandLayout(int m, int n, int k) {
        var r = new Random(m * 31L + n * 7L + k);
        float[] a = Fd.randn(r, m * k, 1), bT = Fd.randn(r, n * k, 1), b = Fd.randn(r, k * n, 1);
        // Plain A·B, A·(stored transposed B) and (stored transposed A)·B: the three linear-layer products.
        check(m, n, k, View.rowMajor(a, k), View.rowMajor(b, n), r);
        check(m, n, k, View.rowMajor(a, k), View.rowMajor(bT, k).transpose(), r);
        float[] aT = Fd.randn(r, k * m, 1);
        check(m, n, k, View.rowMajor(aT, m).transpose(), View.rowMajor(b, n), r);
    }

    @ParameterizedTest
    @CsvSource({"47,13,700", "100,64,1000", "70,40,257"})
    void longKSplitIntoSuperBlocksMatchesNaiveLoop(int m, int n, int k) {
        var r = new Random(m * 31L + n * 7L + k);
        float[] a = Fd.randn(r, m * k, 1), bT = Fd.randn(r, n * k, 1), aT = Fd.randn(r, k * m, 1), b = Fd.randn(r, k * n, 1);
        check(SMALL_BUDGET, m, n, k, View.rowMajor(a, k), View.rowMajor(bT, k).transpose(), r);
        check(SMALL_BUDGET, m, n, k, View.rowMajor(aT, m).transpose(), View.rowMajor(b, n), r);
    }

    private static void check(int m, int n, int k, View a, View b, Random r) {
        check(GEMM, m, n, k, a, b, r);
    }

    private static void check(Gemm gemm, int m, int n, int k, View a, View b, Random r) {
        float[] c = Fd.randn(r, m * n, 1), c0 = c.clone();
        gemm.multiplyAdd(m, n, k, a, b, c, n);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = c0[i * n + j], mag = Math.abs(s);
                for (int p = 0; p < k; p++) {
                    s += (double) a.get(i, p) * b.get(p, j);
                    mag += Math.abs(a.get(i, p) * b.get(p, j));
                }
                // Float accumulation: error grows with the sum of magnitudes, ~k ulps in the worst case.
                assertEquals(s, c[i * n + j], 1e-6 * mag * Math.sqrt(k + 1), "c[" + i + "," + j + "] of " + m + "x" + n + "x" + k);
            }
        }
    }
}
