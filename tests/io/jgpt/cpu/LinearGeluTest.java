package io.jgpt.cpu;

import static io.jgpt.cpu.Fd.assertForward;
import static io.jgpt.cpu.Fd.assertGradient;
import static io.jgpt.cpu.Fd.backwardTwice;
import static io.jgpt.cpu.Fd.gradient;
import static io.jgpt.cpu.Fd.randn;
import static io.jgpt.cpu.Fd.toDouble;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.tensor.Bf16;
import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The MLP's fused pair: linearGeluForward (preact = in W^T + b, out = gelu(preact)) and linearBackwardThroughGelu
 * (dpreact = (dout W2) gelu'(preact), dbias += its column sums). In fp32 both equal the unfused ops bit for bit
 * (the same products and the same GELU arithmetic; only a zero's sign may differ in dpreact); their gradients match central differences of the double
 * reference; in the bf16-storage mode each stores the fp32 result on bf16 weights rounded once, as cuBLASLt's
 * epilogues do (not the unfused bf16 chain, which would round the pre-activation before GELU).
 */
class LinearGeluTest {

    private static final CpuOps OPS = new CpuOps(2);
    private static final Bf16Storage BF16 = new Bf16Storage(new CpuOps(2));

    @AfterAll
    static void close() {
        OPS.close();
        BF16.close();
    }

    private static CpuTensor t(float[] a, int... shape) {
        return CpuTensor.ofFloats(a, shape);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void fusedEqualsTheUnfusedOpsBitForBit(int seed) {
        Random r = new Random(seed);
        // Rows past one GEMM micro-tile and odd widths (vector body and masked tails).
        int n = 19, ic = 13 + seed, h = 4 * ic + 1;
        float[] x = randn(r, n * ic, 1), w = randn(r, h * ic, 0.5), b = randn(r, h, 0.5);
        float[] out = new float[n * h], pre = new float[n * h];
        OPS.linearGeluForward(t(out, n, h), t(pre, n, h), t(x, n, ic), t(w, h, ic), t(b, h));
        float[] pre2 = new float[n * h], out2 = new float[n * h];
        OPS.linearForward(t(pre2, n, h), t(x, n, ic), t(w, h, ic), t(b, h));
        OPS.geluForward(t(out2, n, h), t(pre2, n, h));
        assertArrayEquals(pre2, pre, "preact");
        assertArrayEquals(out2, out, "out");

        // Backward through the second projection (w2 (ic, h)) and the GELU.
        float[] w2 = randn(r, ic * h, 0.5), dout = randn(r, n * ic, 1);
        float[] dpre = randn(r, n * h, 1); // overwritten, whatever it held
        float[] db = randn(r, h, 1), db0 = db.clone();
        OPS.linearBackwardThroughGelu(t(dpre, n, h), t(db, h), t(dout, n, ic), t(w2, ic, h), t(pre, n, h));
        float[] dact = new float[n * h], dpre2 = new float[n * h], dw2 = new float[w2.length], dbias2 = db0.clone();
        OPS.linearBackward(t(dact, n, h), t(dw2, ic, h), null, t(dout, n, ic), t(out, n, h), t(w2, ic, h));
        OPS.geluBackward(t(dpre2, n, h), t(dact, n, h), t(pre, n, h));
        OPS.linearBackward(null, t(new float[w.length], h, ic), t(dbias2, h), t(dpre2, n, h), t(x, n, ic), t(w, h, ic));
        // Equal as numbers: where a product is -0 the unfused sum into zeros makes it +0.
        assertArrayEquals(dpre2, dpre, 0f, "dpreact");
        assertArrayEquals(dbias2, db, "dbias (accumulated onto what it held)");
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        Random r = new Random(7);
        int n = 5, ic = 6, h = 11;
        float[] x = randn(r, n * ic, 1), w = randn(r, h * ic, 0.5), b = randn(r, h, 0.5), w2 = randn(r, ic * h, 0.5);
        float[] out = new float[n * h], pre = new float[n * h];
        OPS.linearGeluForward(t(out, n, h), t(pre, n, h), t(x, n, ic), t(w, h, ic), t(b, h));
        double[] xd = toDouble(x), wd = toDouble(w), bd = toDouble(b), w2d = toDouble(w2);
        double[] preRef = Reference.linear(xd, wd, bd, n, ic, h);
        assertForward("preact", pre, preRef);
        assertForward("out", out, gelu(preRef));

        // Loss = dout . (gelu(preact) W2^T): its gradient with respect to preact and to the first bias.
        float[] dout = randn(r, n * ic, 1), dpre = new float[n * h], db = new float[h];
        var g = backwardTwice(() -> OPS.linearBackwardThroughGelu(t(dpre, n, h), t(db, h), t(dout, n, ic), t(w2, ic, h),
                t(pre, n, h)), db);
        assertGradient("dbias", g[0], gradient(v -> Reference.linear(gelu(Reference.linear(xd, wd, v, n, ic, h)), w2d,
                null, n, h, ic), bd, dout));
        double[] preD = toDouble(pre);
        assertGradient("dpreact", dpre, gradient(v -> Reference.linear(gelu(v), w2d, null, n, h, ic), preD, dout));
    }

    @Test
    void bf16StorageRoundsTheEpilogueResultsOnce() {
        Random r = new Random(8);
        int n = 9, ic = 10, h = 24;
        float[] x = bf16(randn(r, n * ic, 1)), w = randn(r, h * ic, 0.5), b = randn(r, h, 0.5);
        float[] out = new float[n * h], pre = new float[n * h];
        BF16.linearGeluForward(t(out, n, h), t(pre, n, h), t(x, n, ic), t(w, h, ic), t(b, h));
        float[] wantPre = new float[n * h], wantOut = new float[n * h];
        OPS.linearGeluForward(t(wantOut, n, h), t(wantPre, n, h), t(x, n, ic), t(bf16(w), h, ic), t(bf16(b), h));
        assertArrayEquals(bf16(wantPre), pre, "preact: the fp32 product on bf16 weights, rounded once");
        assertArrayEquals(bf16(wantOut), out, "out: GELU of the unrounded pre-activation, rounded once");
        float[] chained = new float[n * h];
        OPS.geluForward(t(chained, n, h), t(bf16(wantPre), n, h));
        assertFalse(Arrays.equals(bf16(chained), out), "the inputs do not tell the epilogue from the unfused chain");

        float[] w2 = randn(r, ic * h, 0.5), dout = bf16(randn(r, n * ic, 1)), dpre = new float[n * h], db = new float[h];
        BF16.linearBackwardThroughGelu(t(dpre, n, h), t(db, h), t(dout, n, ic), t(w2, ic, h), t(pre, n, h));
        float[] want = new float[n * h], wantDb = new float[h];
        OPS.linearBackwardThroughGelu(t(want, n, h), t(wantDb, h), t(dout, n, ic), t(bf16(w2), ic, h), t(pre, n, h));
        assertArrayEquals(bf16(want), dpre, "dpreact rounded once");
        assertArrayEquals(wantDb, db, "dbias stays fp32");
        assertFalse(Arrays.equals(bf16(wantDb), wantDb), "dbias is all bf16 values: the check would show nothing");
    }

    @Test
    void shapesAreChecked() {
        Tensor in = OPS.zeros(DType.F32, 3, 4), w = OPS.zeros(DType.F32, 5, 4), out = OPS.zeros(DType.F32, 3, 5);
        var e = assertThrows(IllegalArgumentException.class,
                () -> OPS.linearGeluForward(out, OPS.zeros(DType.F32, 3, 4), in, w, OPS.zeros(DType.F32, 5)));
        assertTrue(e.getMessage().contains("linearGeluForward: preact"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> OPS.linearGeluForward(out, out, in, w, null));
        assertTrue(e.getMessage().contains("bias must not be null"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> OPS.linearBackwardThroughGelu(out, null,
                OPS.zeros(DType.F32, 3, 4), OPS.zeros(DType.F32, 4, 6), out));
        assertTrue(e.getMessage().contains("linearBackwardThroughGelu: weight"), e.getMessage());
    }

    private static double[] gelu(double[] x) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) y[i] = Reference.gelu(x[i]);
        return y;
    }

    private static float[] bf16(float[] x) {
        float[] c = x.clone();
        Bf16.round(c);
        return c;
    }
}
