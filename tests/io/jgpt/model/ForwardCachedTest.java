package io.jgpt.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.cpu.CpuOps;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The cached inference path gives the training forward pass's logits, however the tokens are fed in: in
 * chunks for a whole batch, or prompts of different lengths prefilled one by one into their sequences of the
 * cache and then stepped together, each at its own position.
 */
class ForwardCachedTest {

    private static final int BATCH = 2, TIME = 12;
    private static final GPTConfig CONFIG = new GPTConfig(37, TIME, 16, 2, 2, 0f, true, false);

    /** @param prefill tokens of the first call; the rest go in one at a time */
    @ParameterizedTest
    @ValueSource(ints = {1, 5, TIME})
    void matchesTheFullForwardPass(int prefill) {
        try (CpuOps ops = new CpuOps(2)) {
            GPTModel model = new GPTModel(CONFIG, ops, 11);
            int v = CONFIG.vocabSize();
            int[] ids = GPTModelTest.randomIds(new Random(prefill), BATCH * TIME, v);
            float[] full = ops.download(model.forward(ids, BATCH, TIME, DropoutPlan.eval()));
            try (KVCache cache = new KVCache(model, BATCH)) {
                for (int end = prefill; end <= TIME; end++) {
                    int from = end == prefill ? 0 : end - 1;
                    float[] last = ops.download(model.forwardCached(columns(ids, from, end), BATCH, end - from, cache));
                    for (int b = 0; b < BATCH; b++) assertEquals(end, cache.length(b));
                    for (int b = 0; b < BATCH; b++) {
                        int at = (b * TIME + end - 1) * v;
                        assertArrayEquals(Arrays.copyOfRange(full, at, at + v), Arrays.copyOfRange(last, b * v, (b + 1) * v),
                                1e-5f, "logits of batch row " + b + " at position " + (end - 1));
                    }
                }
            }
        }
    }

    @Test
    void sequencesOfDifferentLengthsStepTogether() {
        try (CpuOps ops = new CpuOps(2)) {
            GPTModel model = new GPTModel(CONFIG, ops, 5);
            int v = CONFIG.vocabSize(), sequences = 3;
            int[] prompts = {4, 1, 7};
            int[][] ids = new int[sequences][];
            for (int s = 0; s < sequences; s++) ids[s] = GPTModelTest.randomIds(new Random(40 + s), TIME, v);
            try (KVCache cache = new KVCache(model, sequences)) {
                for (int s = 0; s < sequences; s++)
                    model.forwardCached(Arrays.copyOf(ids[s], prompts[s]), 1, prompts[s], cache.sequence(s));
                for (int step = 0; step < 3; step++) {
                    // Sequence 1 sits the second step out: its row computes a throwaway token and stays put.
                    int[] seqs = step == 1 ? new int[] {0, 2} : new int[] {0, 1, 2};
                    int[] tokens = new int[seqs.length];
                    for (int i = 0; i < seqs.length; i++) tokens[i] = ids[seqs[i]][cache.length(seqs[i])];
                    model.stageStep(seqs, tokens, cache);
                    float[] logits = ops.download(model.runStagedStep(cache));
                    for (int s : seqs) {
                        int end = cache.length(s);
                        float[] full = ops.download(model.forward(Arrays.copyOf(ids[s], end), 1, end, DropoutPlan.eval()));
                        assertArrayEquals(Arrays.copyOfRange(full, (end - 1) * v, end * v),
                                Arrays.copyOfRange(logits, s * v, (s + 1) * v), 1e-5f,
                                "sequence " + s + " at position " + (end - 1) + ", step " + step);
                    }
                }
                assertEquals(prompts[1] + 2, cache.length(1), "sequence 1 advanced only when it stepped");
                assertEquals(prompts[0] + 3, cache.length(0));
            }
        }
    }

    @Test
    void aStepRefusesAFullSequenceAndRepeatedSequences() {
        try (CpuOps ops = new CpuOps(1)) {
            GPTModel model = new GPTModel(CONFIG, ops, 3);
            try (KVCache cache = new KVCache(model, 2)) {
                model.forwardCached(new int[TIME], 1, TIME, cache.sequence(1));
                var e = assertThrows(IllegalArgumentException.class,
                        () -> model.stageStep(new int[] {1}, new int[] {0}, cache));
                assertTrue(e.getMessage().contains("sequence 1"), e.getMessage());
                assertThrows(IllegalArgumentException.class, () -> model.stageStep(new int[] {0, 0}, new int[] {1, 2}, cache));
                assertThrows(IllegalArgumentException.class, () -> model.stageStep(new int[] {2}, new int[] {1}, cache));
                model.stageStep(new int[] {0}, new int[] {1}, cache); // a full sequence may sit a step out
                model.runStagedStep(cache);
                assertEquals(1, cache.length(0));
                assertEquals(TIME, cache.length(1));
            }
        }
    }

    @Test
    void rejectsPositionsPastTheContextAndAForeignBatchSize() {
        try (CpuOps ops = new CpuOps(1)) {
            GPTModel model = new GPTModel(CONFIG, ops, 3);
            try (KVCache cache = new KVCache(model, 1)) {
                model.forwardCached(new int[TIME - 1], 1, TIME - 1, cache);
                assertThrows(IllegalArgumentException.class, () -> model.forwardCached(new int[2], 1, 2, cache));
                assertThrows(IllegalArgumentException.class, () -> model.forwardCached(new int[2], 2, 1, cache));
                cache.clear();
                assertEquals(0, cache.length(0));
                model.forwardCached(new int[TIME], 1, TIME, cache);
            }
        }
    }

    /** Columns [from, to) of the (BATCH, TIME) ids. */
    private static int[] columns(int[] ids, int from, int to) {
        int[] out = new int[BATCH * (to - from)];
        for (int b = 0; b < BATCH; b++) System.arraycopy(ids, b * TIME + from, out, b * (to - from), to - from);
        return out;
    }
}
