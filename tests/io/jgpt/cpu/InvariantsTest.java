package io.jgpt.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.ops.Dropout;
import io.jgpt.profile.Profiler;
import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Statistical invariants, argument validation and profiler spans. */
class InvariantsTest {

    private static final CpuOps OPS = new CpuOps(2);

    @AfterAll
    static void close() {
        OPS.close();
    }

    @Test
    void layerNormOutputHasZeroMeanUnitVariance() {
        int n = 4, c = 77;
        float[] w = new float[c], out = new float[n * c];
        Arrays.fill(w, 1f);
        OPS.layerNormForward(CpuTensor.ofFloats(out, n, c), f32(n), f32(n),
                CpuTensor.ofFloats(Fd.randn(new Random(51), n * c, 5), n, c), CpuTensor.ofFloats(w, c), f32(c));
        for (int row = 0; row < n; row++) {
            double mean = 0, var = 0;
            for (int i = 0; i < c; i++) mean += out[row * c + i] / c;
            for (int i = 0; i < c; i++) var += Math.pow(out[row * c + i] - mean, 2) / c;
            assertEquals(0, mean, 1e-6);
            assertEquals(1, var, 1e-3); // eps = 1e-5 against a variance of ~25 shrinks it very slightly
        }
    }

    @Test
    void dropoutKeepsAboutOneMinusPAndIsReproducible() {
        int n = 200_000;
        float[] ones = new float[n], a = new float[n], b = new float[n], other = new float[n];
        Arrays.fill(ones, 1f);
        OPS.dropoutForward(CpuTensor.ofFloats(a, n), CpuTensor.ofFloats(ones, n), Dropout.of(0.1f, 3, 9));
        OPS.dropoutForward(CpuTensor.ofFloats(b, n), CpuTensor.ofFloats(ones, n), Dropout.of(0.1f, 3, 9));
        OPS.dropoutForward(CpuTensor.ofFloats(other, n), CpuTensor.ofFloats(ones, n), Dropout.of(0.1f, 3, 10));
        long kept = 0;
        for (float x : a) if (x != 0) kept++;
        assertEquals(0.9, kept / (double) n, 0.005); // ~7 standard deviations
        for (float x : a) assertTrue(x == 0f || x == 1f / 0.9f);
        assertArrayEquals(a, b, "same (seed, stream), same mask");
        assertTrue(!Arrays.equals(a, other), "another stream, another mask");
    }

    @Test
    void resultsDoNotDependOnThreadCount() {
        var r = new Random(52);
        int n = 300, ic = 70, oc = 90;
        float[] x = Fd.randn(r, n * ic, 1), w = Fd.randn(r, oc * ic, 1), one = new float[n * oc], two = new float[n * oc];
        try (var single = new CpuOps(1)) {
            single.linearForward(CpuTensor.ofFloats(one, n, oc), CpuTensor.ofFloats(x, n, ic), CpuTensor.ofFloats(w, oc, ic), null);
        }
        OPS.linearForward(CpuTensor.ofFloats(two, n, oc), CpuTensor.ofFloats(x, n, ic), CpuTensor.ofFloats(w, oc, ic), null);
        assertArrayEquals(one, two);
    }

    @Test
    void shapeMismatchNamesOpTensorAndBothShapes() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> OPS.linearForward(f32(4, 5), f32(4, 3), f32(6, 3), null));
        assertTrue(e.getMessage().startsWith("linearForward: out has shape [4, 5]") && e.getMessage().contains("[4, 6]"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> OPS.attentionForward(f32(1, 4, 6),
                f32(1, 2, 4, 4), f32(1, 4, 18), 2, Dropout.NONE));
        assertTrue(e.getMessage().startsWith("attentionForward: lse has shape [1, 2, 4, 4]")
                && e.getMessage().contains("[1, 2, 4]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> OPS.embeddingForward(f32(1, 2, 3),
                OPS.upload(new int[] {1, 9}, 1, 2), f32(9, 3), f32(4, 3)));
        assertTrue(e.getMessage().contains("token id 9 at position 1"), e.getMessage());
    }

    @Test
    void profilerReceivesOneSpanPerOpWithHonestFlops() {
        var profiler = new Profiler(OPS.clock());
        OPS.setProfiler(profiler);
        try {
            OPS.linearForward(f32(8, 6), f32(8, 5), f32(6, 5), null);
            OPS.geluForward(f32(10), f32(10));
        } finally {
            OPS.setProfiler(Profiler.OFF);
        }
        profiler.flush();
        var stats = profiler.stats();
        assertEquals(2, stats.size());
        assertEquals("linear_forward", stats.get(0).name);
        assertEquals(2.0 * 8 * 5 * 6, stats.get(0).flops);
        assertEquals("gelu_forward", stats.get(1).name);
    }

    /** A zero-filled F32 tensor. */
    private static Tensor f32(int... shape) {
        return OPS.zeros(DType.F32, shape);
    }
}
