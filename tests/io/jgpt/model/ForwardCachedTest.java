package io.jgpt.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.jgpt.cpu.CpuOps;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The cached inference path gives the training forward pass's logits, however the tokens are fed in. */
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
                    assertEquals(end, cache.length());
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
    void rejectsPositionsPastTheContextAndAForeignBatchSize() {
        try (CpuOps ops = new CpuOps(1)) {
            GPTModel model = new GPTModel(CONFIG, ops, 3);
            try (KVCache cache = new KVCache(model, 1)) {
                model.forwardCached(new int[TIME - 1], 1, TIME - 1, cache);
                assertThrows(IllegalArgumentException.class, () -> model.forwardCached(new int[2], 1, 2, cache));
                assertThrows(IllegalArgumentException.class, () -> model.forwardCached(new int[2], 2, 1, cache));
                cache.clear();
                assertEquals(0, cache.length());
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
