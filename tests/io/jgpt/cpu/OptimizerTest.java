package io.jgpt.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.jgpt.ops.AdamWStep;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** AdamW against a hand-written double update over several steps; scale and sumOfSquares against loops. */
class OptimizerTest {

    private static final CpuOps OPS = new CpuOps(2);

    @AfterAll
    static void close() {
        OPS.close();
    }

    @Test
    void adamwMatchesHandComputedUpdates() {
        var r = new Random(41);
        int n = 37;
        float[] p = Fd.randn(r, n, 1), m = new float[n], v = new float[n];
        double[] pd = Fd.toDouble(p), md = new double[n], vd = new double[n];
        var param = CpuTensor.ofFloats(p, n);
        for (int t = 1; t <= 4; t++) {
            var step = new AdamWStep(1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, t);
            float[] g = Fd.randn(r, n, 1);
            OPS.adamw(param, CpuTensor.ofFloats(g, n), CpuTensor.ofFloats(m, n), CpuTensor.ofFloats(v, n), step);
            for (int i = 0; i < n; i++) {
                pd[i] -= 1e-2 * 0.1 * pd[i];
                md[i] = 0.9 * md[i] + 0.1 * g[i];
                vd[i] = 0.95 * vd[i] + 0.05 * g[i] * g[i];
                double mhat = md[i] / (1 - Math.pow(0.9, t)), vhat = vd[i] / (1 - Math.pow(0.95, t));
                pd[i] -= 1e-2 * mhat / (Math.sqrt(vhat) + 1e-8);
            }
            for (int i = 0; i < n; i++) {
                assertEquals(pd[i], p[i], 1e-6 * (1 + Math.abs(pd[i])), "param " + i + " at step " + t);
                assertEquals(md[i], m[i], 1e-6, "m " + i + " at step " + t);
                assertEquals(vd[i], v[i], 1e-6, "v " + i + " at step " + t);
            }
        }
    }

    @Test
    void adamwWithZeroGradUpdatesIdenticallyAndZeroesTheGradient() {
        var r = new Random(43);
        int n = 100_003; // spans several parallel pieces and a ragged tail
        float[] p = Fd.randn(r, n, 1), g = Fd.randn(r, n, 1), m = Fd.randn(r, n, 0.1f), v = new float[n];
        for (int i = 0; i < n; i++) v[i] = m[i] * m[i];
        float[] p2 = p.clone(), g2 = g.clone(), m2 = m.clone(), v2 = v.clone();
        var step = new AdamWStep(1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, 3);
        OPS.adamw(CpuTensor.ofFloats(p, n), CpuTensor.ofFloats(g, n), CpuTensor.ofFloats(m, n),
                CpuTensor.ofFloats(v, n), step);
        OPS.adamw(CpuTensor.ofFloats(p2, n), CpuTensor.ofFloats(g2, n), CpuTensor.ofFloats(m2, n),
                CpuTensor.ofFloats(v2, n), step, true);
        org.junit.jupiter.api.Assertions.assertArrayEquals(p, p2);
        org.junit.jupiter.api.Assertions.assertArrayEquals(m, m2);
        org.junit.jupiter.api.Assertions.assertArrayEquals(v, v2);
        org.junit.jupiter.api.Assertions.assertArrayEquals(new float[n], g2);
    }

    @Test
    void sumOfSquaresAndScale() {
        var r = new Random(42);
        float[] a = Fd.randn(r, 100_003, 1), b = Fd.randn(r, 5, 1); // a spans several parallel pieces
        double expected = 0;
        for (float x : a) expected += (double) x * x;
        for (float x : b) expected += (double) x * x;
        double got = OPS.sumOfSquares(List.of(CpuTensor.ofFloats(a, a.length), CpuTensor.ofFloats(b, 5)));
        assertEquals(expected, got, 1e-12 * expected);

        float[] before = b.clone();
        OPS.scale(CpuTensor.ofFloats(b, 5), -0.5f);
        for (int i = 0; i < 5; i++) assertEquals(before[i] * -0.5f, b[i]);
    }
}
