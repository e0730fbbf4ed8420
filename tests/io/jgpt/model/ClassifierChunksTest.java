package io.jgpt.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.cpu.CpuOps;
import io.jgpt.ops.StepState;
import io.jgpt.tensor.Tensor.DType;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A batch of more than GPTModel.CLASSIFIER_ROWS positions: the loss and the gradients come from the output head in
 * chunks, and equal those of the same positions run as smaller batches (one chunk each).
 */
class ClassifierChunksTest {

    private static final GPTConfig TINY = new GPTConfig(11, 8, 8, 2, 1, 0f, true, false);
    private static final int TIME = 8, BATCH = GPTModel.CLASSIFIER_ROWS / TIME + 3; // three chunks' worth of rows

    @Test
    void aBatchOfSeveralChunksMatchesItsHalves() {
        try (CpuOps ops = new CpuOps(2)) {
            GPTModel m = new GPTModel(TINY, ops, 7);
            Random r = new Random(8);
            int[] ids = ids(r, BATCH * TIME), targets = ids(r, BATCH * TIME);
            int first = BATCH / 2, second = BATCH - first;
            float whole = m.evaluate(ids, targets, BATCH, TIME);
            float a = m.evaluate(slice(ids, 0, first), slice(targets, 0, first), first, TIME);
            float b = m.evaluate(slice(ids, first, BATCH), slice(targets, first, BATCH), second, TIME);
            assertEquals((a * first + b * second) / BATCH, whole, 1e-5, "mean loss over chunks = weighted halves");

            // Gradients of the mean loss: the whole batch at once against the two halves accumulated (1/2 each
            // of their own means times their share).
            float[] g = gradients(m, ids, targets, BATCH, 1f);
            float[] ga = gradients(m, slice(ids, 0, first), slice(targets, 0, first), first, (float) first / BATCH);
            float[] gb = gradients(m, slice(ids, first, BATCH), slice(targets, first, BATCH), second, (float) second / BATCH);
            float max = 0;
            for (float v : g) max = Math.max(max, Math.abs(v));
            for (int i = 0; i < g.length; i++) assertEquals(g[i], ga[i] + gb[i], 1e-5 * max, "gradient " + i);
        }
    }

    @Test
    void forwardRefusesMoreLogitsThanOneChunk() {
        try (CpuOps ops = new CpuOps(1)) {
            GPTModel m = new GPTModel(TINY, ops, 7);
            var e = assertThrows(IllegalArgumentException.class,
                    () -> m.forward(new int[BATCH * TIME], BATCH, TIME, DropoutPlan.eval()));
            assertTrue(e.getMessage().contains("at most " + GPTModel.CLASSIFIER_ROWS) && e.getMessage().contains("evaluate"),
                    e.getMessage());
            assertArrayEquals(new int[] {2, TIME, 11}, m.forward(new int[2 * TIME], 2, TIME, DropoutPlan.eval()).shape());
        }
    }

    /** The gradient arena after one training pass of {@code scale} times the mean loss (from zero). */
    private static float[] gradients(GPTModel m, int[] ids, int[] targets, int batch, float scale) {
        m.zeroGrad();
        int valid = m.stage(ids, targets, batch, TIME, DropoutPlan.eval());
        m.trainStaged(DropoutPlan.eval(), scale, valid, m.ops().zeros(DType.F32, StepState.SIZE));
        return m.ops().download(m.parameterArena().gradients());
    }

    private static int[] ids(Random r, int n) {
        int[] x = new int[n];
        for (int i = 0; i < n; i++) x[i] = r.nextInt(TINY.vocabSize());
        return x;
    }

    private static int[] slice(int[] x, int fromRow, int toRow) {
        int[] out = new int[(toRow - fromRow) * TIME];
        System.arraycopy(x, fromRow * TIME, out, 0, out.length);
        return out;
    }
}
