package io.jgpt.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.ops.Dropout;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The fp32 flash kernels' exact tiling ({@link FlashAttentionEmulation}) against a double-precision materialised
 * attention (scores, softmax, dropout, the textbook backward), without a GPU. Sequence lengths straddle the 32-key
 * tiles and the 32/64/128-row blocks, head sizes cover every thread group (19 pads to 32, 64, 100 pads to 128),
 * dropout off and on. Also checks the tile schedules: every visible (query, key) pair visited exactly once by each
 * kernel, masked pairs only in tiles the kernels test element by element.
 *
 * <p>Bounds, relative to the largest reference value of each tensor: out and lse 2e-6 (float rounding of sums of at
 * most a few hundred terms of size ~1), dqkv 2e-5 (the backward adds products of such sums).
 */
class FlashAttentionEmulationTest {

    private static final FlashAttentionEmulation.Tiling TILING = FlashAttentionEmulation.Tiling.fromHeader();

    @ParameterizedTest(name = "T={0} hs={1} dropout={2}")
    @CsvSource({"1,64,0", "2,19,0.2", "31,64,0", "33,64,0.25", "64,19,0", "65,100,0.1", "129,64,0", "130,100,0",
            "200,64,0.2", "257,19,0.1"})
    void matchesDoubleReference(int t, int hs, float p) {
        check(2, t, 2, hs, Dropout.of(p, 77, t));
    }

    /** The longest context GPT-2 uses, at the fast head size, one head. */
    @Test
    void longContext() {
        check(1, 1024, 1, 64, Dropout.of(0.1f, 5, 6));
    }

    private static void check(int b, int t, int nh, int hs, Dropout dropout) {
        Random r = new Random(1000L * t + hs);
        int c = nh * hs;
        float[] qkv = rand(r, b * t * 3 * c), dout = rand(r, b * t * c), out = new float[b * t * c];
        float[] lse = new float[b * nh * t], dqkv = rand(r, b * t * 3 * c), dqkv0 = dqkv.clone();
        var emu = new FlashAttentionEmulation(TILING, b, t, nh, hs, dropout);
        emu.forward(qkv, out, lse);
        emu.backward(dqkv, dout, qkv, out, lse);

        Reference ref = Reference.of(qkv, dout, b, t, nh, hs, dropout);
        assertClose("out", out, ref.out, 2e-6);
        assertClose("lse", lse, ref.lse, 2e-6);
        float[] added = new float[dqkv.length];
        for (int i = 0; i < added.length; i++) added[i] = dqkv[i] - dqkv0[i];
        assertClose("dqkv", added, ref.dqkv, 2e-5);

        assertEquals(0, emu.interiorMasked, "masked pairs in tiles treated as interior");
        for (int k = 0; k < 3; k++) {
            for (int bh = 0; bh < b * nh; bh++)
                for (int i = 0; i < t; i++)
                    for (int j = 0; j <= i; j++) {
                        int visits = emu.visits[k][(bh * t + i) * t + j];
                        if (visits != 1) throw new AssertionError("kernel " + k + " visits pair (" + i + ", " + j + ") of head "
                                + bh + " " + visits + " times");
                    }
        }
    }

    /**
     * The bf16 tensor-core forward's tiling on bf16 inputs against the double reference on the same (rounded)
     * inputs. Bounds: lse 1e-5 (fp32 sums of exact bf16 products); out 1e-2 of max |out| (the probabilities are
     * rounded to bf16, 2^-9 relative, before the second product, and out itself to bf16, 2^-9 of its magnitude).
     */
    @ParameterizedTest(name = "bf16 T={0} hs={1} dropout={2}")
    @CsvSource({"1,64,0", "17,64,0.2", "64,64,0", "65,19,0.1", "130,64,0", "200,48,0.2"})
    void bf16ForwardMatchesDoubleReference(int t, int hs, float p) {
        Random r = new Random(77L * t + hs);
        int b = 2, nh = 2, c = nh * hs;
        Dropout dropout = Dropout.of(p, 78, t);
        float[] qkv = rand(r, b * t * 3 * c), out = new float[b * t * c], lse = new float[b * nh * t];
        io.jgpt.tensor.Bf16.round(qkv);
        var emu = new FlashAttentionEmulation(TILING, b, t, nh, hs, dropout);
        emu.forwardBf16(FlashAttentionEmulation.MmaTiling.fromHeader(), qkv, out, lse);
        Reference ref = Reference.forward(toDouble(qkv), b, t, nh, hs, dropout);
        assertClose("bf16 out", out, ref.out, 1e-2);
        assertClose("bf16 lse", lse, ref.lse, 1e-5);
        assertEquals(0, emu.interiorMasked, "masked pairs in tiles treated as interior");
        for (int bh = 0; bh < b * nh; bh++)
            for (int i = 0; i < t; i++)
                for (int j = 0; j <= i; j++) assertEquals(1, emu.visits[3][(bh * t + i) * t + j], "pair visits");
    }

    /**
     * The bf16 tensor-core backward's tiling (on the bf16 forward's out and lse) against the double reference on the
     * same bf16 inputs, from a non-zero bf16 dqkv so the += contract is checked: each element must be the stored value
     * plus the reference gradient, give or take one bf16 rounding of that sum (2^-8 of its magnitude) and an error of
     * at most BF16_BACKWARD of max |reference gradient|. That bound covers P * Z and dS rounded to bf16 (2^-8
     * relative each) before the products that take them, and delta computed from the bf16-rounded out.
     */
    @ParameterizedTest(name = "bf16 backward T={0} hs={1} dropout={2}")
    @CsvSource({"1,64,0", "17,64,0.2", "64,64,0", "65,19,0.1", "130,64,0", "200,48,0.2", "257,64,0.1"})
    void bf16BackwardMatchesDoubleReference(int t, int hs, float p) {
        Random r = new Random(91L * t + hs);
        int b = 2, nh = 2, c = nh * hs;
        Dropout dropout = Dropout.of(p, 79, t);
        float[] qkv = rand(r, b * t * 3 * c), dout = rand(r, b * t * c), dqkv = rand(r, b * t * 3 * c);
        io.jgpt.tensor.Bf16.round(qkv);
        io.jgpt.tensor.Bf16.round(dout);
        io.jgpt.tensor.Bf16.round(dqkv);
        float[] dqkv0 = dqkv.clone(), out = new float[b * t * c], lse = new float[b * nh * t];
        var mt = FlashAttentionEmulation.MmaTiling.fromHeader();
        var emu = new FlashAttentionEmulation(TILING, b, t, nh, hs, dropout);
        emu.forwardBf16(mt, qkv, out, lse);
        emu.backwardBf16(mt, dqkv, dout, qkv, out, lse);

        double[] ref = Reference.of(qkv, dout, b, t, nh, hs, dropout).dqkv;
        double max = 0, worst = 0;
        for (double g : ref) max = Math.max(max, Math.abs(g));
        for (int i = 0; i < dqkv.length; i++) {
            double want = dqkv0[i] + ref[i];
            worst = Math.max(worst, Math.abs(dqkv[i] - want) - Math.abs(want) / 256);
        }
        assertTrue(worst / max <= BF16_BACKWARD, "bf16 dqkv: error " + worst / max + " of max |gradient| " + max
                + " beyond one rounding > " + BF16_BACKWARD);
        assertEquals(0, emu.interiorMasked, "masked pairs in tiles treated as interior");
        for (int k = 4; k <= 5; k++)
            for (int bh = 0; bh < b * nh; bh++)
                for (int i = 0; i < t; i++)
                    for (int j = 0; j <= i; j++)
                        assertEquals(1, emu.visits[k][(bh * t + i) * t + j], "kernel " + k + " visits of pair (" + i + ", " + j + ")");
    }

    private static final double BF16_BACKWARD = 1e-2; // the cases above measured at most 2.8e-3

    /** The double reference's analytic backward against its own central differences, so it can be trusted. */
    @Test
    void referenceBackwardMatchesFiniteDifferences() {
        Random r = new Random(3);
        int b = 1, t = 4, nh = 2, hs = 3, c = nh * hs;
        Dropout dropout = Dropout.of(0.3f, 8, 9);
        float[] qkv = rand(r, b * t * 3 * c), dout = rand(r, b * t * c);
        Reference ref = Reference.of(qkv, dout, b, t, nh, hs, dropout);
        double h = 1e-3;
        for (int i = 0; i < qkv.length; i++) {
            double[] x = toDouble(qkv);
            x[i] += h;
            double up = dot(Reference.forward(x, b, t, nh, hs, dropout).out, dout);
            x[i] -= 2 * h;
            double down = dot(Reference.forward(x, b, t, nh, hs, dropout).out, dout);
            double numeric = (up - down) / (2 * h);
            assertEquals(numeric, ref.dqkv[i], 1e-5 * (1 + Math.abs(numeric)), "dqkv[" + i + "]");
        }
    }

    @Test
    void headerGroupsMatchTheHostGeometry() {
        for (int hs : new int[] {1, 19, 32, 33, 64, 65, 100, 128, 129, 1000})
            assertEquals(FlashGeometry.group(hs), TILING.group(hs), "group for hs " + hs);
        assertEquals(FlashGeometry.THREADS, TILING.threads());
        assertEquals(FlashGeometry.DIMS_PER_THREAD, TILING.dimsPerThread());
        assertEquals(FlashGeometry.KEY_TILE, TILING.keyTile());
        assertEquals(FlashGeometry.QUERY_TILE, TILING.queryTile());
        assertEquals(FlashGeometry.MAX_HEAD_SIZE, TILING.dimsPerThread() * TILING.maxGroup());
        var mma = FlashAttentionEmulation.MmaTiling.fromHeader();
        assertEquals(FlashGeometry.MMA_ROWS, mma.rows());
        assertEquals(FlashGeometry.MMA_HEAD, mma.head());
        assertEquals(FlashGeometry.THREADS, 32 * mma.warps());
    }

    // ---- double-precision materialised attention ---------------------------------------------------------

    private record Reference(double[] out, double[] lse, double[] probs, double[] dqkv) {

        static Reference forward(double[] qkv, int b, int t, int nh, int hs, Dropout d) {
            int c = nh * hs;
            double[] out = new double[b * t * c], lse = new double[b * nh * t], probs = new double[b * nh * t * t];
            for (int bh = 0; bh < b * nh; bh++) {
                int bb = bh / nh, h = bh % nh;
                for (int i = 0; i < t; i++) {
                    double[] s = new double[i + 1];
                    double max = Double.NEGATIVE_INFINITY, sum = 0;
                    for (int j = 0; j <= i; j++) {
                        for (int e = 0; e < hs; e++) s[j] += qkv[q(bb, i, 0, h, e, t, c, hs)] * qkv[q(bb, j, 1, h, e, t, c, hs)];
                        s[j] /= Math.sqrt(hs);
                        max = Math.max(max, s[j]);
                    }
                    for (int j = 0; j <= i; j++) sum += Math.exp(s[j] - max);
                    lse[bh * t + i] = max + Math.log(sum);
                    for (int j = 0; j <= i; j++) {
                        double p = Math.exp(s[j] - max) / sum;
                        probs[(bh * t + i) * t + j] = p;
                        double w = p * z(d, bh, i, j, t);
                        for (int e = 0; e < hs; e++) out[(bb * t + i) * c + h * hs + e] += w * qkv[q(bb, j, 2, h, e, t, c, hs)];
                    }
                }
            }
            return new Reference(out, lse, probs, null);
        }

        static Reference of(float[] qkvF, float[] doutF, int b, int t, int nh, int hs, Dropout d) {
            double[] qkv = toDouble(qkvF), dout = toDouble(doutF);
            Reference f = forward(qkv, b, t, nh, hs, d);
            int c = nh * hs;
            double[] dqkv = new double[qkv.length];
            double scale = 1 / Math.sqrt(hs);
            for (int bh = 0; bh < b * nh; bh++) {
                int bb = bh / nh, h = bh % nh;
                for (int i = 0; i < t; i++) {
                    double[] dp = new double[i + 1];
                    double dot = 0;
                    for (int j = 0; j <= i; j++) {
                        double g = 0;
                        for (int e = 0; e < hs; e++) g += dout[(bb * t + i) * c + h * hs + e] * qkv[q(bb, j, 2, h, e, t, c, hs)];
                        dp[j] = g * z(d, bh, i, j, t);
                        dot += f.probs[(bh * t + i) * t + j] * dp[j];
                    }
                    for (int j = 0; j <= i; j++) {
                        double p = f.probs[(bh * t + i) * t + j], ds = p * (dp[j] - dot) * scale, w = p * z(d, bh, i, j, t);
                        for (int e = 0; e < hs; e++) {
                            dqkv[q(bb, i, 0, h, e, t, c, hs)] += ds * qkv[q(bb, j, 1, h, e, t, c, hs)];
                            dqkv[q(bb, j, 1, h, e, t, c, hs)] += ds * qkv[q(bb, i, 0, h, e, t, c, hs)];
                            dqkv[q(bb, j, 2, h, e, t, c, hs)] += w * dout[(bb * t + i) * c + h * hs + e];
                        }
                    }
                }
            }
            return new Reference(f.out, f.lse, f.probs, dqkv);
        }

        private static int q(int b, int t, int part, int h, int e, int T, int c, int hs) {
            return (b * T + t) * 3 * c + part * c + h * hs + e;
        }

        private static double z(Dropout d, int bh, int i, int j, int t) {
            return !d.active() ? 1 : d.keep(((long) bh * t + i) * t + j) ? d.scale() : 0;
        }
    }

    private static void assertClose(String what, float[] actual, double[] expected, double rtol) {
        double max = 0, worst = 0;
        for (double e : expected) max = Math.max(max, Math.abs(e));
        for (int i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
        double err = worst / Math.max(max, 1e-30);
        assertTrue(err <= rtol, what + ": max error " + err + " of max |ref| " + max + " > " + rtol);
    }

    private static float[] rand(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
        return x;
    }

    private static double[] toDouble(float[] x) {
        double[] d = new double[x.length];
        for (int i = 0; i < x.length; i++) d[i] = x[i];
        return d;
    }

    private static double dot(double[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }
}
