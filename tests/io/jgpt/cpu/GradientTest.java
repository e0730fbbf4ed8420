package io.jgpt.cpu;

import static io.jgpt.cpu.Fd.assertForward;
import static io.jgpt.cpu.Fd.assertGradient;
import static io.jgpt.cpu.Fd.backwardTwice;
import static io.jgpt.cpu.Fd.gradient;
import static io.jgpt.cpu.Fd.randn;
import static io.jgpt.cpu.Fd.toDouble;

import io.jgpt.ops.Dropout;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Forward of each dense op against its double reference (Fd.FORWARD_RTOL), and its float backward against
 * central differences of that reference (Fd.GRAD_RTOL), on seeded random odd shapes. Every backward is also
 * run twice to check that it accumulates.
 */
class GradientTest {

    private static final CpuOps OPS = new CpuOps(2);

    @AfterAll
    static void close() {
        OPS.close();
    }

    private static CpuTensor t(float[] a, int... shape) {
        return CpuTensor.ofFloats(a, shape);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void embedding(int seed) {
        var r = new Random(seed);
        int b = 1 + r.nextInt(3), t = 2 + r.nextInt(5), c = 3 + r.nextInt(20), v = 4 + r.nextInt(9), maxT = t + r.nextInt(3);
        int[] tok = new int[b * t];
        for (int i = 0; i < tok.length; i++) tok[i] = r.nextInt(v);
        tok[0] = tok[tok.length - 1]; // a repeated token must accumulate
        float[] wte = randn(r, v * c, 1), wpe = randn(r, maxT * c, 1), out = new float[b * t * c];
        var tokens = CpuTensor.ofInts(tok, b, t);
        OPS.embeddingForward(t(out, b, t, c), tokens, t(wte, v, c), t(wpe, maxT, c));
        double[] wteD = toDouble(wte), wpeD = toDouble(wpe);
        assertForward("embedding out", out, Reference.embedding(tok, wteD, wpeD, t, c));

        float[] dout = randn(r, out.length, 1), dwte = new float[wte.length], dwpe = new float[wpe.length];
        var g = backwardTwice(() -> OPS.embeddingBackward(t(dwte, v, c), t(dwpe, maxT, c), t(dout, b, t, c), tokens),
                dwte, dwpe);
        assertGradient("dwte", g[0], gradient(x -> Reference.embedding(tok, x, wpeD, t, c), wteD, dout));
        assertGradient("dwpe", g[1], gradient(x -> Reference.embedding(tok, wteD, x, t, c), wpeD, dout));
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void layerNorm(int seed) {
        var r = new Random(seed);
        int n = 1 + r.nextInt(6), c = 3 + r.nextInt(40);
        float[] x = randn(r, n * c, 2), w = randn(r, c, 1), bias = randn(r, c, 1);
        float[] out = new float[n * c], mean = new float[n], rstd = new float[n];
        OPS.layerNormForward(t(out, n, c), t(mean, n), t(rstd, n), t(x, n, c), t(w, c), t(bias, c));
        double[] xd = toDouble(x), wd = toDouble(w), bd = toDouble(bias);
        assertForward("layernorm out", out, Reference.layerNorm(xd, wd, bd, n, c));

        float[] dout = randn(r, out.length, 1), dx = new float[x.length], dw = new float[c], db = new float[c];
        var g = backwardTwice(() -> OPS.layerNormBackward(t(dx, n, c), t(dw, c), t(db, c), t(dout, n, c), t(x, n, c),
                t(w, c), t(mean, n), t(rstd, n)), dx, dw, db);
        assertGradient("din", g[0], gradient(v -> Reference.layerNorm(v, wd, bd, n, c), xd, dout));
        assertGradient("dweight", g[1], gradient(v -> Reference.layerNorm(xd, v, bd, n, c), wd, dout));
        assertGradient("dbias", g[2], gradient(v -> Reference.layerNorm(xd, wd, v, n, c), bd, dout));
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void linear(boolean withBias) {
        var r = new Random(withBias ? 7 : 8);
        // Odd sizes straddle the GEMM's vector width and micro-tile edges.
        int n = 1 + r.nextInt(13), ic = 1 + r.nextInt(40), oc = 1 + r.nextInt(40);
        float[] x = randn(r, n * ic, 1), w = randn(r, oc * ic, 1), bias = withBias ? randn(r, oc, 1) : null;
        float[] out = new float[n * oc];
        OPS.linearForward(t(out, n, oc), t(x, n, ic), t(w, oc, ic), withBias ? t(bias, oc) : null);
        double[] xd = toDouble(x), wd = toDouble(w), bd = withBias ? toDouble(bias) : null;
        assertForward("linear out", out, Reference.linear(xd, wd, bd, n, ic, oc));

        float[] dout = randn(r, out.length, 1), dx = new float[x.length], dw = new float[w.length], db = new float[oc];
        var g = backwardTwice(() -> OPS.linearBackward(t(dx, n, ic), t(dw, oc, ic), withBias ? t(db, oc) : null,
                t(dout, n, oc), t(x, n, ic), t(w, oc, ic)), dx, dw, db);
        assertGradient("din", g[0], gradient(v -> Reference.linear(v, wd, bd, n, ic, oc), xd, dout));
        assertGradient("dweight", g[1], gradient(v -> Reference.linear(xd, v, bd, n, ic, oc), wd, dout));
        if (withBias) assertGradient("dbias", g[2], gradient(v -> Reference.linear(xd, wd, v, n, ic, oc), bd, dout));
    }

    @Test
    void linearWithoutInputGradient() {
        var r = new Random(9);
        int n = 5, ic = 7, oc = 3;
        float[] x = randn(r, n * ic, 1), w = randn(r, oc * ic, 1), dout = randn(r, n * oc, 1), dw = new float[w.length];
        OPS.linearBackward(null, t(dw, oc, ic), null, t(dout, n, oc), t(x, n, ic), t(w, oc, ic));
        assertGradient("dweight", dw, gradient(v -> Reference.linear(toDouble(x), v, null, n, ic, oc), toDouble(w), dout));
    }

    @Test
    void gelu() {
        var r = new Random(11);
        int n = 97; // not a multiple of the vector width
        float[] x = randn(r, n, 2), out = new float[n];
        OPS.geluForward(t(out, n), t(x, n));
        double[] xd = toDouble(x);
        assertForward("gelu out", out, map(xd, Reference::gelu));

        float[] dout = randn(r, n, 1), dx = new float[n];
        var g = backwardTwice(() -> OPS.geluBackward(t(dx, n), t(dout, n), t(x, n)), dx);
        assertGradient("din", g[0], gradient(v -> map(v, Reference::gelu), xd, dout));
    }

    @Test
    void add() {
        var r = new Random(12);
        int n = 37;
        float[] a = randn(r, n, 1), b = randn(r, n, 1), out = new float[n];
        OPS.add(t(out, n), t(a, n), t(b, n));
        double[] expected = new double[n];
        for (int i = 0; i < n; i++) expected[i] = (double) a[i] + b[i];
        assertForward("add out", out, expected);
        OPS.add(t(a, n), t(a, n), t(b, n)); // out may alias an input
        assertForward("add in place", a, expected);
    }

    @ParameterizedTest
    @ValueSource(floats = {0f, 0.3f})
    void dropout(float p) {
        var r = new Random(13);
        int n = 203;
        var d = Dropout.of(p, 42, 7);
        float[] x = randn(r, n, 1), out = new float[n];
        OPS.dropoutForward(t(out, n), t(x, n), d);
        java.util.function.Function<double[], double[]> ref = v -> {
            double[] y = new double[n];
            for (int i = 0; i < n; i++) y[i] = !d.active() ? v[i] : d.keep(i) ? v[i] / (1 - p) : 0;
            return y;
        };
        double[] xd = toDouble(x);
        assertForward("dropout out", out, ref.apply(xd));

        float[] dout = randn(r, n, 1), dx = new float[n];
        var g = backwardTwice(() -> OPS.dropoutBackward(t(dx, n), t(dout, n), d), dx);
        assertGradient("din", g[0], gradient(ref, xd, dout));
    }

    private static double[] map(double[] x, java.util.function.DoubleUnaryOperator f) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) y[i] = f.applyAsDouble(x[i]);
        return y;
    }
}
