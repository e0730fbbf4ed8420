package io.jgpt.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.cpu.CpuOps;
import io.jgpt.model.GPTConfig;
import io.jgpt.model.GPTModel;
import io.jgpt.model.Parameter;
import io.jgpt.tensor.Tensor;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TrainingTest {

    static final GPTConfig SMALL = new GPTConfig(17, 16, 16, 2, 2, 0.1f, true, false);

    /** A repeating token pattern the model can memorise. */
    static Batch patternBatch() {
        int b = 2;
        int t = 16;
        int[] in = new int[b * t];
        int[] out = new int[b * t];
        for (int i = 0; i < b * t; i++) {
            in[i] = (i * 5) % 17;
            out[i] = ((i + 1) * 5) % 17;
        }
        return new Batch(in, out, b, t);
    }

    static float[] losses(int threads, int steps) {
        try (CpuOps ops = new CpuOps(threads)) {
            GPTModel m = new GPTModel(SMALL, ops, 123);
            TrainingStep step = new TrainingStep(m, new AdamW(m.parameterArena(), AdamW.Settings.book(0.1f)), 1.0);
            float[] out = new float[steps];
            for (int i = 0; i < steps; i++) {
                step.run(List.of(patternBatch()), 3e-3f, i, 7);
                out[i] = step.result().loss();
            }
            return out;
        }
    }

    @Test
    void sameSeedGivesBitIdenticalLosses() {
        assertArrayEquals(losses(2, 6), losses(2, 6), 0f);
    }

    @Test
    void lossFallsWhenMemorisingAPattern() {
        float[] l = losses(2, 150);
        // Starts near ln(17) = 2.83 (the book's init gives somewhat more); must fall well below it.
        assertTrue(l[0] > 2.0, "initial loss " + l[0]);
        assertTrue(l[149] < 0.2, "final loss " + l[149]);
    }

    @Test
    void optimizerSeesNoBuffers() {
        try (CpuOps ops = new CpuOps(1)) {
            GPTModel m = new GPTModel(SMALL, ops, 1);
            AdamW opt = new AdamW(m.parameterArena(), AdamW.Settings.book(0.1f));
            Set<Tensor> optimised = Collections.newSetFromMap(new IdentityHashMap<>());
            opt.parameters().forEach(p -> optimised.add(p.value()));
            m.buffers().values().forEach(b -> assertTrue(!optimised.contains(b.value()), b.name()));
            assertEquals(m.parameters().size(), opt.parameters().size());
        }
    }

    /**
     * Clipping is folded into the update: AdamW with a bound equals AdamW without one on gradients scaled on
     * the host by bound / (norm + 1e-6), and a bound above the norm changes nothing.
     */
    @Test
    void clippingIsFoldedIntoTheUpdate() {
        for (double fraction : new double[] {0.25, 10}) {
            try (CpuOps ops = new CpuOps(1)) {
                GPTModel clipped = new GPTModel(SMALL, ops, 1), byHand = new GPTModel(SMALL, ops, 1);
                double norm = 0;
                for (GPTModel m : List.of(clipped, byHand)) {
                    Batch batch = patternBatch();
                    m.zeroGrad();
                    m.forward(batch.inputs(), batch.batch(), batch.time(), new io.jgpt.model.DropoutPlan(0f, 0, 0, 1));
                    m.lossAndBackward(batch.targets(), 1f);
                    double sq = 0;
                    for (float g : ops.download(m.parameterArena().gradients())) sq += (double) g * g;
                    norm = Math.sqrt(sq);
                }
                double bound = norm * fraction, factor = Math.min(1, bound / (norm + 1e-6));
                float[] g = ops.download(byHand.parameterArena().gradients());
                for (int i = 0; i < g.length; i++) g[i] *= (float) factor;
                ops.write(byHand.parameterArena().gradients(), g);
                AdamW a = new AdamW(clipped.parameterArena(), AdamW.Settings.book(0.1f));
                AdamW b = new AdamW(byHand.parameterArena(), AdamW.Settings.book(0.1f));
                a.begin(1e-2f);
                a.update(bound, true);
                b.begin(1e-2f);
                b.update(0, true);
                assertEquals(norm, a.lastStep().gradNorm(), 1e-6 * norm);
                float[] pa = ops.download(clipped.parameterArena().values()), pb = ops.download(byHand.parameterArena().values());
                for (int i = 0; i < pa.length; i++)
                    assertEquals(pb[i], pa[i], 1e-6 * (1 + Math.abs(pb[i])), "element " + i + ", bound " + fraction + " x norm");
            }
        }
    }

    @Test
    void adamwMatchesHandComputedUpdatesAndDecaysOnlyMatricesWhenAsked() {
        try (CpuOps ops = new CpuOps(1)) {
            GPTModel m = new GPTModel(new GPTConfig(5, 4, 4, 1, 1, 0f, true, false), ops, 1);
            List<Parameter> ps = m.parameters();
            AdamW opt = new AdamW(m.parameterArena(), new AdamW.Settings(0.9f, 0.999f, 1e-8f, 0.5f, true));
            Parameter bias = m.namedParameters().get("h.0.ln_1.bias");
            Parameter matrix = m.namedParameters().get("h.0.mlp.c_fc.weight");
            double[] pb = toDouble(ops.download(bias.value()));
            double[] pm = toDouble(ops.download(matrix.value()));
            double[] mb = new double[pb.length], vb = new double[pb.length], mm = new double[pm.length], vm = new double[pm.length];
            for (int step = 1; step <= 4; step++) {
                float g = 0.1f * step;
                for (Parameter p : ps) ops.write(p.grad(), filled((int) p.value().numel(), g));
                opt.step(0.01f);
                hand(pb, mb, vb, g, step, 0.0);
                hand(pm, mm, vm, g, step, 0.5);
                float[] gotB = ops.download(bias.value());
                float[] gotM = ops.download(matrix.value());
                for (int i = 0; i < pb.length; i++) assertEquals(pb[i], gotB[i], 1e-6, "bias step " + step);
                for (int i = 0; i < pm.length; i++) assertEquals(pm[i], gotM[i], 1e-6, "matrix step " + step);
            }
        }
    }

    private static void hand(double[] p, double[] m, double[] v, double g, int t, double wd) {
        for (int i = 0; i < p.length; i++) {
            p[i] -= 0.01 * wd * p[i];
            m[i] = 0.9 * m[i] + 0.1 * g;
            v[i] = 0.999 * v[i] + 0.001 * g * g;
            double mh = m[i] / (1 - Math.pow(0.9, t));
            double vh = v[i] / (1 - Math.pow(0.999, t));
            p[i] -= 0.01 * mh / (Math.sqrt(vh) + 1e-8);
        }
    }

    private static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }

    private static float[] filled(int n, float v) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, v);
        return a;
    }
}
