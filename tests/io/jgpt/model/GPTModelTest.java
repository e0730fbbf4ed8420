package io.jgpt.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.cpu.CpuOps;
import io.jgpt.ops.Ops;
import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class GPTModelTest {

    static final GPTConfig TINY = new GPTConfig(13, 8, 8, 2, 2, 0f, true, false);

    static int[] randomIds(Random r, int n, int vocab) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = r.nextInt(vocab);
        return ids;
    }

    @Test
    void changingAFutureTokenNeverChangesEarlierLogits() {
        try (CpuOps ops = new CpuOps(2)) {
            GPTModel m = new GPTModel(TINY, ops, 7);
            Random r = new Random(1);
            int b = 2;
            int t = 8;
            int v = TINY.vocabSize();
            int[] ids = randomIds(r, b * t, v);
            float[] before = ops.download(m.forward(ids, b, t, DropoutPlan.eval()));
            for (int pos = 0; pos < t - 1; pos++) {
                int[] changed = ids.clone();
                changed[pos + 1] = (changed[pos + 1] + 1 + r.nextInt(v - 1)) % v; // batch row 0 only
                float[] after = ops.download(m.forward(changed, b, t, DropoutPlan.eval()));
                for (int q = 0; q <= pos; q++) {
                    float[] x = Arrays.copyOfRange(before, q * v, (q + 1) * v);
                    float[] y = Arrays.copyOfRange(after, q * v, (q + 1) * v);
                    assertArrayEquals(x, y, 0f, "logits at position " + q + " changed when token " + (pos + 1) + " changed");
                }
                float[] later = Arrays.copyOfRange(after, (pos + 1) * v, (pos + 2) * v);
                assertFalse(Arrays.equals(later, Arrays.copyOfRange(before, (pos + 1) * v, (pos + 2) * v)));
            }
        }
    }

    @Test
    void uniformLogitsGiveLogVocabLoss() {
        try (CpuOps ops = new CpuOps(1)) {
            GPTModel m = new GPTModel(TINY, ops, 3);
            Tensor head = m.lmHead.weight.value();
            ops.zero(head); // every logit 0: the softmax is uniform
            Random r = new Random(2);
            m.forward(randomIds(r, 16, 13), 2, 8, DropoutPlan.eval());
            assertEquals(Math.log(13), m.loss(randomIds(r, 16, 13)), 1e-6);
        }
    }

    @Test
    void ignoredTargetsDoNotCount() {
        try (CpuOps ops = new CpuOps(1)) {
            GPTModel m = new GPTModel(TINY, ops, 3);
            Random r = new Random(5);
            int[] ids = randomIds(r, 16, 13);
            int[] targets = randomIds(r, 16, 13);
            m.forward(ids, 2, 8, DropoutPlan.eval());
            float full = m.loss(targets);
            int[] half = targets.clone();
            Arrays.fill(half, 8, 16, -100);
            float firstRow = m.loss(half);
            int[] other = targets.clone();
            Arrays.fill(other, 0, 8, -100);
            float secondRow = m.loss(other);
            assertEquals(full, (firstRow + secondRow) / 2, 1e-5);
        }
    }

    @Test
    void outOfRangeTokenIsNamed() {
        try (CpuOps ops = new CpuOps(1)) {
            GPTModel m = new GPTModel(TINY, ops, 3);
            int[] ids = new int[16];
            ids[5] = 13;
            var e = assertThrows(IllegalArgumentException.class, () -> m.forward(ids, 2, 8, DropoutPlan.eval()));
            assertTrue(e.getMessage().contains("token id 13 at position 5"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> m.forward(new int[18], 2, 9, DropoutPlan.eval()));
        }
    }

    @Test
    void stateDictHoldsParametersButNotTheNonPersistentMask() {
        try (CpuOps ops = new CpuOps(1)) {
            GPTModel m = new GPTModel(TINY, ops, 3);
            var state = m.stateDict();
            assertTrue(m.buffers().containsKey("h.0.attn.mask"));
            assertFalse(m.buffers().get("h.0.attn.mask").persistent());
            assertFalse(state.containsKey("h.0.attn.mask"));
            assertEquals(m.namedParameters().keySet(), state.keySet());
            assertTrue(state.containsKey("h.1.attn.c_attn.weight"));
            assertTrue(state.containsKey("lm_head.weight"));
            assertArrayEquals(new int[] {24, 8}, state.get("h.1.attn.c_attn.weight").shape());
        }
    }

    @Test
    void moduleToMovesParametersAndBuffers() {
        try (CpuOps a = new CpuOps(1); CpuOps b = new CpuOps(2)) {
            GPTModel m = new GPTModel(TINY, a, 3);
            int[] ids = randomIds(new Random(9), 16, 13);
            float[] before = a.download(m.forward(ids, 2, 8, DropoutPlan.eval()));
            m.to(b);
            assertEquals(b, m.ops());
            Tensor mask = m.buffers().get("h.1.attn.mask").value();
            float[] maskValues = b.download(mask); // would fail if the buffer still belonged to backend a's storage
            assertEquals(1f, maskValues[1]);
            assertEquals(0f, maskValues[8]);
            assertArrayEquals(before, b.download(m.forward(ids, 2, 8, DropoutPlan.eval())), 0f);
        }
    }

    /** A persistent buffer is saved; a non-persistent one is not; neither is a parameter. */
    @Test
    void persistentBuffersAreSavedAndNeverParameters() {
        try (CpuOps ops = new CpuOps(1)) {
            class Counter extends Module {
                Counter(Ops ops) {
                    super(ops);
                    parameter("weight", 2, 2);
                    buffer("running", ops.zeros(DType.F32, 3), true);
                    buffer("cache", ops.zeros(DType.F32, 4), false);
                }
            }
            Counter c = new Counter(ops);
            assertEquals(List.of("weight", "running"), List.copyOf(c.stateDict().keySet()));
            assertEquals(1, c.parameters().size());
            assertEquals(2, c.buffers().size());
        }
    }
}
