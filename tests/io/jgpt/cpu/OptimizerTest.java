package io.jgpt.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.jgpt.ops.AdamWConfig;
import io.jgpt.ops.ArenaChunks;
import io.jgpt.ops.StepState;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The arena optimizer ops against a hand-written double update: decay groups by chunk flags, the global norm,
 * clipping folded into the update, the device-side skip of non-finite steps, the loss accumulator.
 */
class OptimizerTest {

    private static final CpuOps OPS = new CpuOps(2);
    private static final AdamWConfig CFG = new AdamWConfig(0.9f, 0.95f, 1e-8f, 0.1f);
    /** Two spans with a gap of padding between them; the first spans several chunks and a ragged one. */
    private static final int FIRST = 2 * ArenaChunks.CHUNK + 1001, GAP = 23, SECOND = 4099, N = FIRST + GAP + SECOND;
    private static final int[] ROWS = ArenaChunks.rows(List.of(new ArenaChunks.Span(0, FIRST, true),
            new ArenaChunks.Span(FIRST + GAP, SECOND, false)));

    @AfterAll
    static void close() {
        OPS.close();
    }

    private static boolean inGap(int i) {
        return i >= FIRST && i < FIRST + GAP;
    }

    @Test
    void adamwMatchesHandComputedUpdatesWithDecayGroupsAndClipping() {
        var r = new Random(41);
        float[] p = Fd.randn(r, N, 1), m = new float[N], v = new float[N], state = new float[StepState.SIZE];
        double[] pd = Fd.toDouble(p), md = new double[N], vd = new double[N];
        float[] gapBefore = java.util.Arrays.copyOfRange(p, FIRST, FIRST + GAP);
        var chunks = CpuTensor.ofInts(ROWS, ROWS.length / 3, 3);
        float maxNorm = 150f; // about 0.4 of the norm of N standard-normal gradients, so steps clip
        for (int t = 1; t <= 4; t++) {
            float[] g = Fd.randn(r, N, t == 2 ? 0.1f : 1f); // step 2 stays under the bound
            for (int i = FIRST; i < FIRST + GAP; i++) g[i] = 0f; // padding has no gradient
            state[StepState.LR] = 1e-2f;
            state[StepState.LOSS] = 2.5f;
            float[] g0 = g.clone(); // adamw clears g
            var gt = CpuTensor.ofFloats(g, N);
            OPS.stepDecision(CpuTensor.ofFloats(state, StepState.SIZE), gt, chunks, maxNorm);
            double sq = 0;
            for (float x : g) sq += (double) x * x;
            double norm = Math.sqrt(sq), clip = Math.min(1, maxNorm / (norm + 1e-6));
            assertEquals(norm, state[StepState.NORM], 1e-6 * norm, "norm at step " + t);
            assertEquals(clip, state[StepState.CLIP], 1e-6, "clip factor at step " + t);
            assertEquals(t, state[StepState.STEPS]);
            assertEquals(0f, state[StepState.SKIP]);
            OPS.adamw(CpuTensor.ofFloats(p, N), gt, CpuTensor.ofFloats(m, N), CpuTensor.ofFloats(v, N), chunks,
                    CpuTensor.ofFloats(state, StepState.SIZE), CFG, true);
            for (int i = 0; i < N; i++) {
                if (inGap(i)) continue;
                double gi = g0[i] * clip;
                if (i < FIRST) pd[i] -= 1e-2 * 0.1 * pd[i];
                md[i] = 0.9 * md[i] + 0.1 * gi;
                vd[i] = 0.95 * vd[i] + 0.05 * gi * gi;
                double mhat = md[i] / (1 - Math.pow(0.9, t)), vhat = vd[i] / (1 - Math.pow(0.95, t));
                pd[i] -= 1e-2 * mhat / (Math.sqrt(vhat) + 1e-8);
            }
            for (int i = 0; i < N; i++) {
                if (inGap(i)) continue;
                assertEquals(pd[i], p[i], 1e-6 * (1 + Math.abs(pd[i])), "param " + i + " at step " + t);
                assertEquals(md[i], m[i], 1e-6, "m " + i + " at step " + t);
                assertEquals(vd[i], v[i], 1e-6, "v " + i + " at step " + t);
                assertEquals(0f, g[i], "gradient " + i + " cleared at step " + t);
            }
        }
        assertArrayEquals(gapBefore, java.util.Arrays.copyOfRange(p, FIRST, FIRST + GAP), "elements outside the chunks");
    }

    @Test
    void aNonFiniteLossOrNormSkipsTheUpdateOnTheBackend() {
        var r = new Random(7);
        float[] p = Fd.randn(r, N, 1), m = Fd.randn(r, N, 0.1f), v = new float[N], state = new float[StepState.SIZE];
        for (int i = 0; i < N; i++) v[i] = m[i] * m[i];
        var chunks = CpuTensor.ofInts(ROWS, ROWS.length / 3, 3);
        var st = CpuTensor.ofFloats(state, StepState.SIZE);
        state[StepState.STEPS] = 3;
        float[] p0 = p.clone(), m0 = m.clone(), v0 = v.clone();
        for (int bad = 1; bad <= 2; bad++) {
            float[] g = Fd.randn(r, N, 1);
            if (bad == 1) state[StepState.LOSS] = Float.NaN;
            else g[17] = Float.POSITIVE_INFINITY;
            OPS.stepDecision(st, CpuTensor.ofFloats(g, N), chunks, 1f);
            assertEquals(1f, state[StepState.SKIP]);
            assertEquals(bad, state[StepState.BAD]);
            assertEquals(3f, state[StepState.STEPS], "a skipped step is not counted");
            OPS.adamw(CpuTensor.ofFloats(p, N), CpuTensor.ofFloats(g, N), CpuTensor.ofFloats(m, N),
                    CpuTensor.ofFloats(v, N), chunks, st, CFG, true);
            assertArrayEquals(p0, p, "weights untouched");
            assertArrayEquals(m0, m);
            assertArrayEquals(v0, v);
            for (int i = 0; i < N; i++) if (!inGap(i)) assertEquals(0f, g[i], "gradients are cleared even when skipped");
            state[StepState.LOSS] = 0f;
        }
        OPS.stepDecision(st, CpuTensor.ofFloats(new float[N], N), chunks, 1f);
        assertEquals(0f, state[StepState.SKIP]);
        assertEquals(0f, state[StepState.BAD], "a good step ends the run of bad ones");
        assertEquals(4f, state[StepState.STEPS]);
    }

    @Test
    void zeroGradUpdatesIdentically() {
        var r = new Random(43);
        float[] p = Fd.randn(r, N, 1), g = Fd.randn(r, N, 1), m = Fd.randn(r, N, 0.1f), v = new float[N];
        for (int i = 0; i < N; i++) v[i] = m[i] * m[i];
        float[] p2 = p.clone(), g2 = g.clone(), m2 = m.clone(), v2 = v.clone();
        float[] state = new float[StepState.SIZE];
        state[StepState.LR] = 1e-2f;
        state[StepState.CLIP] = 1f;
        state[StepState.STEPS] = 3;
        var chunks = CpuTensor.ofInts(ROWS, ROWS.length / 3, 3);
        var st = CpuTensor.ofFloats(state, StepState.SIZE);
        OPS.adamw(CpuTensor.ofFloats(p, N), CpuTensor.ofFloats(g, N), CpuTensor.ofFloats(m, N), CpuTensor.ofFloats(v, N),
                chunks, st, CFG, false);
        OPS.adamw(CpuTensor.ofFloats(p2, N), CpuTensor.ofFloats(g2, N), CpuTensor.ofFloats(m2, N),
                CpuTensor.ofFloats(v2, N), chunks, st, CFG, true);
        assertArrayEquals(p, p2);
        assertArrayEquals(m, m2);
        assertArrayEquals(v, v2);
        for (int i = 0; i < N; i++) assertEquals(inGap(i) ? g[i] : 0f, g2[i], "gradient " + i);
    }

    @Test
    void aChunkOutsideTheArenaIsAnError() {
        int[] rows = {0, 10, 1, 8, 5, 0};
        var e = assertThrows(IllegalArgumentException.class, () -> OPS.stepDecision(OPS.zeros(io.jgpt.tensor.Tensor.DType.F32,
                StepState.SIZE), CpuTensor.ofFloats(new float[12], 12), CpuTensor.ofInts(rows, 2, 3), 1f));
        assertEquals("stepDecision: chunk 1 [8, +5) is outside the arena of 12 elements", e.getMessage());
    }

    @Test
    void lossAccumulatesAndSumOfSquaresMatchesALoop() {
        float[] state = new float[StepState.SIZE];
        state[StepState.LOSS] = 1f;
        OPS.accumulateLoss(CpuTensor.ofFloats(state, StepState.SIZE), CpuTensor.ofFloats(new float[] {1, 2, 3, 0}, 2, 2), 0.5f);
        assertEquals(4f, state[StepState.LOSS]);
        var r = new Random(42);
        float[] a = Fd.randn(r, 100_003, 1); // spans several parallel pieces
        double expected = 0;
        for (float x : a) expected += (double) x * x;
        assertEquals(expected, OPS.sumOfSquares(CpuTensor.ofFloats(a, a.length)), 1e-12 * expected);
    }
}
