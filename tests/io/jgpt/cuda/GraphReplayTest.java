package io.jgpt.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.jgpt.model.GPTConfig;
import io.jgpt.model.GPTModel;
import io.jgpt.ops.Ops;
import io.jgpt.train.AdamW;
import io.jgpt.train.Batch;
import io.jgpt.train.TrainingStep;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * On a GPU: training steps replayed from a captured CUDA graph give bit for bit the weights, losses and
 * norms of the same steps issued eagerly. The batches use every token id at most once per step, so the
 * token-embedding gradient's atomics add to each element once and the eager run is itself deterministic.
 */
@Tag("gpu")
class GraphReplayTest {

    private static final GPTConfig CFG = new GPTConfig(257, 64, 64, 4, 2, 0f, true, true);

    @BeforeAll
    static void needsGpu() {
        CudaDevice.Probe probe = CudaOps.available();
        Assumptions.assumeTrue(probe.available(), () -> "no usable CUDA device: " + probe.message());
    }

    /** Step s: a permutation of distinct ids, different every step. */
    private static Batch batch(int s) {
        int b = 2, t = 64;
        int[] in = new int[b * t], out = new int[b * t];
        for (int i = 0; i < in.length; i++) {
            in[i] = (i * 37 + s * 11) % CFG.vocabSize();
            out[i] = (i * 53 + s * 7 + 1) % CFG.vocabSize();
        }
        return new Batch(in, out, b, t);
    }

    private static float[] train(boolean graphs, float[] losses, float[] norms) {
        try (Ops gpu = new CudaOps(0, "auto", false)) {
            GPTModel m = new GPTModel(CFG, gpu, 3);
            AdamW opt = new AdamW(m.parameterArena(), AdamW.Settings.book(0.1f));
            try (TrainingStep step = new TrainingStep(m, opt, 0.5, graphs)) {
                for (int s = 0; s < losses.length; s++) {
                    step.run(List.of(batch(s)), 1e-3f * (s + 1), s, 9);
                    TrainingStep.Result r = step.result();
                    losses[s] = r.loss();
                    norms[s] = (float) r.gradNorm();
                }
            }
            return gpu.download(m.parameterArena().values());
        }
    }

    @Test
    void replayedStepsEqualEagerStepsBitForBit() {
        int steps = 6; // eager, capture + replay, then four replays
        float[] le = new float[steps], ne = new float[steps], lg = new float[steps], ng = new float[steps];
        float[] eager = train(false, le, ne);
        float[] graph = train(true, lg, ng);
        assertArrayEquals(le, lg, 0f, "losses");
        assertArrayEquals(ne, ng, 0f, "gradient norms");
        assertEquals(eager.length, graph.length);
        assertArrayEquals(eager, graph, 0f, "weights after " + steps + " steps");
    }
}
