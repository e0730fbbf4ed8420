package io.jgpt.cpu;

import static io.jgpt.cpu.Fd.assertForward;
import static io.jgpt.cpu.Fd.assertGradient;
import static io.jgpt.cpu.Fd.backwardTwice;
import static io.jgpt.cpu.Fd.gradient;
import static io.jgpt.cpu.Fd.randn;
import static io.jgpt.cpu.Fd.toDouble;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.ops.Ops;
import io.jgpt.tensor.Bf16;
import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Ops.residualLayerNormForward (sum = x + branch, out = LayerNorm(sum)) against the unfused pair add +
 * layerNormForward: bit for bit, since it does the same float additions and the same row arithmetic, in fp32 and
 * in the bf16-storage mode (which rounds sum before normalising it, as the GPU does). Its backward,
 * layerNormBackward accumulating into the residual stream's gradient, against central differences of the double
 * reference of both outputs.
 */
class ResidualLayerNormTest {

    private static final CpuOps OPS = new CpuOps(2);
    private static final Bf16Storage BF16 = new Bf16Storage(new CpuOps(2));

    @AfterAll
    static void close() {
        OPS.close();
        BF16.close();
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void fusedEqualsAddThenLayerNormBitForBit(int seed) {
        for (Ops ops : new Ops[] {OPS, BF16}) {
            Random r = new Random(seed);
            // 40 rows: more than one task of rows; odd C: vector body and scalar tail.
            int n = 40, c = 37 + 16 * seed;
            float[] x = randn(r, n * c, 2), branch = randn(r, n * c, 1), w = randn(r, c, 1), b = randn(r, c, 1);
            if (ops == BF16) {
                Bf16.round(x);
                Bf16.round(branch);
            }
            Tensor[] fused = run(ops, x, branch, w, b, n, c, true);
            Tensor[] unfused = run(ops, x, branch, w, b, n, c, false);
            String mode = ops == BF16 ? "bf16 storage" : "fp32";
            for (int k = 0; k < fused.length; k++)
                assertArrayEquals(ops.download(unfused[k]), ops.download(fused[k]), mode + " output " + k);
            if (ops == BF16) {
                float[] sum = ops.download(fused[0]);
                float[] rounded = sum.clone();
                Bf16.round(rounded);
                assertArrayEquals(rounded, sum, "bf16 storage keeps sum as bf16");
            }
        }
    }

    /** {sum, out, mean, rstd} from the fused op or from add then layerNormForward. */
    private static Tensor[] run(Ops ops, float[] x, float[] branch, float[] w, float[] b, int n, int c, boolean fused) {
        Tensor tx = ops.upload(DType.F32, x, n, c), tb = ops.upload(DType.F32, branch, n, c);
        Tensor tw = ops.upload(DType.F32, w, c), tbias = ops.upload(DType.F32, b, c);
        Tensor sum = ops.zeros(DType.F32, n, c), out = ops.zeros(DType.F32, n, c);
        Tensor mean = ops.zeros(DType.F32, n), rstd = ops.zeros(DType.F32, n);
        if (fused) {
            ops.residualLayerNormForward(sum, out, mean, rstd, tx, tb, tw, tbias);
        } else {
            ops.add(sum, tx, tb);
            ops.layerNormForward(out, mean, rstd, sum, tw, tbias);
        }
        return new Tensor[] {sum, out, mean, rstd};
    }

    @Test
    void sumMayOverwriteX() {
        Random r = new Random(4);
        int n = 5, c = 19;
        float[] x = randn(r, n * c, 1), branch = randn(r, n * c, 1), w = randn(r, c, 1), b = randn(r, c, 1);
        Tensor[] separate = run(OPS, x, branch, w, b, n, c, true);
        Tensor tx = OPS.upload(DType.F32, x, n, c), out = OPS.zeros(DType.F32, n, c);
        OPS.residualLayerNormForward(tx, out, OPS.zeros(DType.F32, n), OPS.zeros(DType.F32, n), tx,
                OPS.upload(DType.F32, branch, n, c), OPS.upload(DType.F32, w, c), OPS.upload(DType.F32, b, c));
        assertArrayEquals(OPS.download(separate[0]), OPS.download(tx), "sum written over x");
        assertArrayEquals(OPS.download(separate[1]), OPS.download(out), "out from the sum written over x");
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void backwardIntoTheResidualGradientMatchesFiniteDifferences(int seed) {
        Random r = new Random(10 + seed);
        int n = 1 + r.nextInt(6), c = 3 + r.nextInt(40);
        float[] x = randn(r, n * c, 2), branch = randn(r, n * c, 1), w = randn(r, c, 1), b = randn(r, c, 1);
        float[] sum = new float[n * c], out = new float[n * c], mean = new float[n], rstd = new float[n];
        OPS.residualLayerNormForward(t(sum, n, c), t(out, n, c), t(mean, n), t(rstd, n), t(x, n, c), t(branch, n, c),
                t(w, c), t(b, c));
        double[] xd = toDouble(x), bd = toDouble(branch), wd = toDouble(w), biasD = toDouble(b);
        assertForward("out", out, Reference.layerNorm(plus(xd, bd), wd, biasD, n, c));

        // Loss = dresidual . sum + dout . out: sum goes on along the residual stream, out into the next layer.
        float[] dresidual = randn(r, n * c, 1), dout = randn(r, n * c, 1);
        float[] weights = concat(dresidual, dout);
        float[] dsum = new float[n * c], dw = new float[c], db = new float[c];
        var g = backwardTwice(() -> {
            Simd.add(dresidual, 0, dsum, 0, n * c); // the residual stream's gradient, as the block holds it
            OPS.layerNormBackward(t(dsum, n, c), t(dw, c), t(db, c), t(dout, n, c), t(sum, n, c), t(w, c), t(mean, n),
                    t(rstd, n));
        }, dsum, dw, db);
        assertGradient("d(x) = d(branch)", g[0], gradient(v -> both(v, bd, wd, biasD, n, c), xd, weights));
        assertGradient("d(branch)", g[0], gradient(v -> both(xd, v, wd, biasD, n, c), bd, weights));
        assertGradient("dweight", g[1], gradient(v -> both(xd, bd, v, biasD, n, c), wd, weights));
        assertGradient("dbias", g[2], gradient(v -> both(xd, bd, wd, v, n, c), biasD, weights));
    }

    @Test
    void shapesAreChecked() {
        int n = 3, c = 4;
        Tensor a = OPS.zeros(DType.F32, n, c), odd = OPS.zeros(DType.F32, n, c + 1);
        Tensor stats = OPS.zeros(DType.F32, n), p = OPS.zeros(DType.F32, c);
        var e = assertThrows(IllegalArgumentException.class,
                () -> OPS.residualLayerNormForward(a, a, stats, stats, a, odd, p, p));
        assertTrue(e.getMessage().contains("residualLayerNormForward: branch"), e.getMessage());
    }

    /** [sum, LayerNorm(sum)] of the double reference, sum = x + branch. */
    private static double[] both(double[] x, double[] branch, double[] w, double[] b, int n, int c) {
        double[] sum = plus(x, branch);
        double[] out = Reference.layerNorm(sum, w, b, n, c);
        double[] all = new double[2 * sum.length];
        System.arraycopy(sum, 0, all, 0, sum.length);
        System.arraycopy(out, 0, all, sum.length, out.length);
        return all;
    }

    private static double[] plus(double[] a, double[] b) {
        double[] s = new double[a.length];
        for (int i = 0; i < s.length; i++) s[i] = a[i] + b[i];
        return s;
    }

    private static float[] concat(float[] a, float[] b) {
        float[] all = new float[a.length + b.length];
        System.arraycopy(a, 0, all, 0, a.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    private static CpuTensor t(float[] a, int... shape) {
        return CpuTensor.ofFloats(a, shape);
    }
}
