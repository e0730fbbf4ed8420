package io.jgpt.cpu;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.function.Function;

/** Test support: random data, central finite differences in double precision, and tolerance checks. */
final class Fd {

    /** Forward outputs in float vs the double reference: |a - e| <= FORWARD_RTOL * (|e| + max|e|). */
    static final double FORWARD_RTOL = 1e-5;
    /** Float backward vs double central differences (a 0.1% error in a kernel fails it): |g - fd| <= GRAD_RTOL * (|fd| + max|fd|) ... */
    static final double GRAD_RTOL = 1e-4;
    /** ... with an absolute floor for gradients that are all tiny. */
    static final double GRAD_ATOL = 1e-6;
    /** Step of the central difference; in double its truncation and rounding errors are ~1e-10. */
    static final double H = 1e-5;

    private Fd() {}

    static float[] randn(Random r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * scale);
        return a;
    }

    static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }

    /**
     * d/dx of the scalar sum_j weights[j] * f(x)[j], by central differences. {@code x} is perturbed in place
     * and restored; f must read it afresh on every call.
     */
    static double[] gradient(Function<double[], double[]> f, double[] x, float[] weights) {
        double[] g = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            double saved = x[i];
            x[i] = saved + H;
            double plus = weighted(f.apply(x), weights);
            x[i] = saved - H;
            double minus = weighted(f.apply(x), weights);
            x[i] = saved;
            g[i] = (plus - minus) / (2 * H);
        }
        return g;
    }

    private static double weighted(double[] y, float[] w) {
        double s = 0;
        for (int j = 0; j < y.length; j++) s += y[j] * w[j];
        return s;
    }

    static void assertForward(String what, float[] actual, double[] expected) {
        assertWithin(what, actual, expected, FORWARD_RTOL, 0);
    }

    static void assertGradient(String what, float[] actual, double[] expected) {
        assertWithin(what, actual, expected, GRAD_RTOL, GRAD_ATOL);
    }

    private static void assertWithin(String what, float[] actual, double[] expected, double rtol, double atol) {
        assertTrue(actual.length == expected.length, what + ": length " + actual.length + " vs " + expected.length);
        double max = 0;
        for (double e : expected) max = Math.max(max, Math.abs(e));
        for (int i = 0; i < actual.length; i++) {
            double err = Math.abs(actual[i] - expected[i]);
            double bound = rtol * (Math.abs(expected[i]) + max) + atol;
            if (!(err <= bound)) {
                throw new AssertionError(what + "[" + i + "]: got " + actual[i] + ", expected " + expected[i]
                        + " (error " + err + " > bound " + bound + ")");
            }
        }
    }

    /**
     * Runs {@code backward} twice on zeroed gradient buffers, checks that the second call added the same
     * amount again (backwards accumulate), and returns copies of the gradients after the first call.
     */
    static float[][] backwardTwice(Runnable backward, float[]... grads) {
        for (float[] g : grads) java.util.Arrays.fill(g, 0f);
        backward.run();
        float[][] once = new float[grads.length][];
        for (int k = 0; k < grads.length; k++) once[k] = grads[k].clone();
        backward.run();
        for (int k = 0; k < grads.length; k++) {
            double[] doubled = new double[once[k].length];
            for (int i = 0; i < doubled.length; i++) doubled[i] = 2.0 * once[k][i];
            assertWithin("gradient " + k + " after two backward calls", grads[k], doubled, 1e-6, 0);
        }
        return once;
    }
}
