package io.jgpt.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.generate.ModelDecoding;
import io.jgpt.model.GPTConfig;
import io.jgpt.model.GPTModel;
import io.jgpt.ops.Ops;
import io.jgpt.ops.Precision;
import io.jgpt.train.AdamW;
import io.jgpt.train.Batch;
import io.jgpt.train.TrainingStep;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * On a GPU: training steps replayed from captured CUDA graphs give bit for bit the weights, losses and norms of
 * the same steps issued eagerly, without dropout, with dropout (each replay reads its step's staged keys) and
 * with two accumulated micro-batches (a micro-batch graph and a last-micro-batch-plus-optimizer graph). The
 * batches use every token id at most once per micro-batch, so the token-embedding gradient's atomics add to
 * each element once per kernel and the eager run is itself deterministic. In bf16 too, where the recorded
 * optimizer step also writes the bf16 weight copy. And decoding: KV-cache steps replayed from a recorded graph
 * give the eager steps' logits bit for bit.
 */
@Tag("gpu")
class GraphReplayTest {

    private static final GPTConfig CFG = new GPTConfig(257, 64, 64, 4, 2, 0f, true, true);

    @BeforeAll
    static void needsGpu() {
        CudaDevice.Probe probe = CudaOps.available();
        Assumptions.assumeTrue(probe.available(), () -> "no usable CUDA device: " + probe.message());
    }

    /** Micro-batch i of step s: a permutation of distinct ids, different every micro-batch. */
    private static Batch batch(int s, int i) {
        int b = 2, t = 64;
        int[] in = new int[b * t], out = new int[b * t];
        for (int j = 0; j < in.length; j++) {
            in[j] = (j * 37 + s * 11 + i * 5) % CFG.vocabSize();
            out[j] = (j * 53 + s * 7 + i * 3 + 1) % CFG.vocabSize();
        }
        return new Batch(in, out, b, t);
    }

    private static float[] train(Precision precision, GPTConfig cfg, int accum, boolean graphs, float[] losses,
                                 float[] norms) {
        try (Ops gpu = new CudaOps(0, "auto", precision)) {
            GPTModel m = new GPTModel(cfg, gpu, 3);
            AdamW opt = new AdamW(m.parameterArena(), AdamW.Settings.book(0.1f));
            try (TrainingStep step = new TrainingStep(m, opt, 0.5, graphs)) {
                for (int s = 0; s < losses.length; s++) {
                    List<Batch> micro = new ArrayList<>();
                    for (int i = 0; i < accum; i++) micro.add(batch(s, i));
                    step.run(micro, 1e-3f * (s + 1), s, 9);
                    TrainingStep.Result r = step.result();
                    losses[s] = r.loss();
                    norms[s] = (float) r.gradNorm();
                }
                if (graphs) assertTrue(step.replaying(), "the last steps replayed graphs");
            }
            return gpu.download(m.parameterArena().values());
        }
    }

    @ParameterizedTest(name = "{0}, dropout {1}, accumulating {2}")
    @CsvSource({"FP32, 0, 1", "FP32, 0.1, 1", "FP32, 0, 2", "FP32, 0.1, 2", "BF16, 0.1, 2"})
    void replayedStepsEqualEagerStepsBitForBit(Precision precision, float dropout, int accum) {
        GPTConfig cfg = new GPTConfig(CFG.vocabSize(), CFG.contextLength(), CFG.embDim(), CFG.nHeads(), CFG.nLayers(),
                dropout, CFG.qkvBias(), CFG.tiedHead());
        int steps = 6; // eager, capture + replay, then four replays
        float[] le = new float[steps], ne = new float[steps], lg = new float[steps], ng = new float[steps];
        float[] eager = train(precision, cfg, accum, false, le, ne);
        float[] graph = train(precision, cfg, accum, true, lg, ng);
        assertArrayEquals(le, lg, 0f, "losses");
        assertArrayEquals(ne, ng, 0f, "gradient norms");
        assertEquals(eager.length, graph.length);
        assertArrayEquals(eager, graph, 0f, "weights after " + steps + " steps");
    }

    /**
     * KV-cache decoding: three prompts of different lengths, then steps with every sequence and with one sitting
     * out; the steps replayed from a recorded graph give the eager steps' logits bit for bit.
     */
    @Test
    void replayedDecodingStepsEqualEagerStepsBitForBit() {
        float[][] eager = decode(false), graph = decode(true);
        for (int i = 0; i < eager.length; i++) assertArrayEquals(eager[i], graph[i], 0f, "logits of call " + i);
    }

    private static float[][] decode(boolean graphs) {
        List<float[]> out = new ArrayList<>();
        try (Ops gpu = new CudaOps(0, "auto", Precision.FP32)) {
            GPTModel m = new GPTModel(CFG, gpu, 5);
            try (ModelDecoding d = ModelDecoding.cached(m, 3, graphs)) {
                int[][] prompts = {{1, 2, 3, 4, 5}, {6}, {7, 8, 9}};
                for (int s = 0; s < 3; s++) out.add(d.prefill(s, prompts[s]));
                for (int step = 0; step < 6; step++) {
                    int[] seqs = step == 3 ? new int[] {0, 2} : new int[] {0, 1, 2};
                    int[] ids = new int[seqs.length];
                    for (int i = 0; i < ids.length; i++) ids[i] = (step * 31 + seqs[i] * 7) % CFG.vocabSize();
                    for (float[] logits : d.step(seqs, ids)) out.add(logits);
                }
                if (graphs) assertTrue(d.replaying(), "the last steps replayed the recorded graph");
            }
        }
        return out.toArray(new float[0][]);
    }
}
