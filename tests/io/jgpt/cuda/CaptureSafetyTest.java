package io.jgpt.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.model.GPTConfig;
import io.jgpt.model.DropoutPlan;
import io.jgpt.model.GPTModel;
import io.jgpt.ops.Dropout;
import io.jgpt.ops.Ops;
import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;
import io.jgpt.train.AdamW;
import io.jgpt.train.Batch;
import io.jgpt.train.TrainingStep;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The CUDA backend's training step on a recording fake of the driver (no GPU): after one eager step per
 * shape, a step is one replay of a captured graph (two with accumulation, one per micro-batch), dropout
 * included, and neither the capture nor the steps around it wait for the device, allocate, or copy anything
 * but the batch, its dropout keys and the learning rate (through pinned staging).
 * The fake fails any synchronisation, allocation or host copy inside a capture region.
 */
class CaptureSafetyTest {

    private static final GPTConfig CFG = new GPTConfig(17, 16, 16, 2, 2, 0f, true, true);
    private static final GPTConfig DROPOUT = new GPTConfig(17, 16, 16, 2, 2, 0.1f, true, true);

    /** AdamW and clipping at 1 over the model, replaying graphs or (--no-graph) not. */
    private static TrainingStep training(GPTModel m, boolean graphs) {
        return new TrainingStep(m, new AdamW(m.parameterArena(), AdamW.Settings.book(0.1f)), 1.0, graphs);
    }

    /** A (b, t) batch of ids and targets in the 17-token vocabulary of the fake-driver tests. */
    static Batch batch(int b, int t) {
        int[] in = new int[b * t], out = new int[b * t];
        for (int i = 0; i < in.length; i++) {
            in[i] = (i * 5) % 17;
            out[i] = ((i + 1) * 5) % 17;
        }
        return new Batch(in, out, b, t);
    }

    @Test
    void stepsAfterTheFirstReplayOneGraphWithoutWaitingForTheDevice() {
        RecordingDriver driver = new RecordingDriver();
        try (CudaOps ops = driver.backend()) {
            GPTModel m = new GPTModel(CFG, ops, 1);
            try (TrainingStep step = training(m, true)) {
                step.run(List.of(batch(2, 8)), 1e-3f, 0, 1); // eager: allocates activations and work buffers
                driver.resetCounts();
                for (int s = 1; s <= 3; s++) step.run(List.of(batch(2, 8)), 1e-3f, s, 1);
                assertEquals(1, driver.captures, "one capture for the shape");
                assertEquals(3, driver.graphLaunches, "the capturing step replays too");
                assertOnlyStagedCopiesOutsideTheGraph(driver);
                assertEquals(0, driver.hostWaits, "no synchronisation or synchronous copy in a step");
                assertEquals(0, driver.allocations);
                assertEquals(3 * 3, driver.asyncHostCopies, "tokens, targets and the learning rate per step");
                // One launch each for the whole optimizer step, however many parameters there are.
                for (String k : List.of("loss_accumulate", "chunk_sum_squares", "step_decision", "adamw_arena"))
                    assertEquals(1, Collections.frequency(driver.captured, k), k + " in " + driver.captured);
                assertTrue(driver.captured.contains("embedding_forward_f32"), "the forward pass is captured");
                assertTrue(step.replaying());
                assertNotNull(step.result()); // reading back waits, outside the step
                assertTrue(driver.hostWaits > 0);
            }
        }
    }

    /**
     * With dropout the masks change every step, yet one graph serves: each step stages its own key table, the
     * keys {@link DropoutPlan} derives for that step (the ones the CPU reference draws its masks from).
     */
    @Test
    void dropoutStepsReplayOneGraphWithEachStepsKeysStaged() {
        RecordingDriver driver = new RecordingDriver();
        try (CudaOps ops = driver.backend()) {
            GPTModel m = new GPTModel(DROPOUT, ops, 1);
            try (TrainingStep step = training(m, true)) {
                step.run(List.of(batch(2, 8)), 1e-3f, 0, 5);
                driver.resetCounts();
                for (int s = 1; s <= 3; s++) step.run(List.of(batch(2, 8)), 1e-3f, s, 5);
                assertEquals(1, driver.captures, "one capture for the shape, dropout or not");
                assertEquals(3, driver.graphLaunches);
                assertOnlyStagedCopiesOutsideTheGraph(driver);
                assertEquals(0, driver.hostWaits);
                assertEquals(0, driver.allocations);
                assertEquals(3 * 4, driver.asyncHostCopies, "tokens, targets, dropout keys and the learning rate per step");
                assertTrue(driver.captured.contains("dropout_forward_f32"), driver.captured.toString());
                assertTrue(step.replaying());
                List<long[]> staged = stagedKeyTables(driver, m.dropoutSites());
                assertEquals(3, staged.size(), "one key table per step");
                for (int s = 1; s <= 3; s++) {
                    long[] expected = new DropoutPlan(0.1f, 5, s, m.dropoutSites()).keys();
                    assertArrayEquals(expected, staged.get(s - 1), "keys of step " + s);
                }
            }
        }
    }

    /**
     * Accumulation: one graph for a micro-batch's forward and backward, replayed for all but the last, and one for
     * the last micro-batch with the optimizer step; every micro-batch gets its own dropout keys.
     */
    @Test
    void accumulatingStepsReplayAMicroBatchGraphAndAnOptimizerGraph() {
        RecordingDriver driver = new RecordingDriver();
        try (CudaOps ops = driver.backend()) {
            GPTModel m = new GPTModel(DROPOUT, ops, 1);
            try (TrainingStep step = training(m, true)) {
                List<Batch> three = List.of(batch(2, 8), batch(2, 8), batch(2, 8));
                step.run(three, 1e-3f, 0, 5);
                driver.resetCounts();
                for (int s = 1; s <= 3; s++) step.run(three, 1e-3f, s, 5);
                assertEquals(2, driver.captures, "a micro-batch graph and a last-micro-batch-plus-optimizer graph");
                assertEquals(3 * 3, driver.graphLaunches, "one launch per micro-batch");
                assertOnlyStagedCopiesOutsideTheGraph(driver);
                assertEquals(0, driver.hostWaits);
                assertEquals(0, driver.allocations);
                assertEquals(3 * (3 * 3 + 1), driver.asyncHostCopies, "tokens, targets, keys per micro-batch; the rate");
                List<String> microGraph = driver.recorded.get(0), lastGraph = driver.recorded.get(1);
                assertEquals(0, Collections.frequency(microGraph, "adamw_arena"), microGraph.toString());
                assertEquals(1, Collections.frequency(microGraph, "loss_accumulate"));
                for (String k : List.of("loss_accumulate", "chunk_sum_squares", "step_decision", "adamw_arena"))
                    assertEquals(1, Collections.frequency(lastGraph, k), k + " in " + lastGraph);
                List<long[]> staged = stagedKeyTables(driver, m.dropoutSites());
                assertEquals(9, staged.size(), "one key table per micro-batch");
                for (int s = 1; s <= 3; s++)
                    for (int i = 0; i < 3; i++)
                        assertArrayEquals(new DropoutPlan(0.1f, 5, 3L * s + i, m.dropoutSites()).keys(),
                                staged.get(3 * (s - 1) + i), "step " + s + " micro-batch " + i);
            }
        }
    }

    /** Every kernel of a step is in its graph; outside it only each staged write's copy into place. */
    private static void assertOnlyStagedCopiesOutsideTheGraph(RecordingDriver driver) {
        assertEquals(Collections.nCopies(driver.asyncHostCopies, "memcpyDtoD"), driver.launched);
    }

    /** The queued host copies of exactly one key per dropout site, decoded. */
    private static List<long[]> stagedKeyTables(RecordingDriver driver, int sites) {
        List<long[]> tables = new ArrayList<>();
        for (byte[] data : driver.hostCopyData) {
            if (data.length != 8 * sites) continue;
            long[] keys = new long[sites];
            ByteBuffer.wrap(data).order(ByteOrder.nativeOrder()).asLongBuffer().get(keys);
            tables.add(keys);
        }
        return tables;
    }

    /** Eager dropout needs its keys staged: a site whose key is not in the staged table is refused, not guessed. */
    @Test
    void aDropoutSiteWithoutItsStagedKeyIsRefused() {
        RecordingDriver driver = new RecordingDriver();
        try (CudaOps ops = driver.backend()) {
            Tensor in = ops.zeros(DType.F32, 8), out = ops.zeros(DType.F32, 8);
            DropoutPlan plan = new DropoutPlan(0.1f, 5, 2, 3);
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> ops.dropoutForward(out, in, plan.site(1)));
            assertTrue(e.getMessage().contains("dropout slot 1"), e.getMessage());
            ops.stageDropoutKeys(new DropoutPlan(0.1f, 5, 3, 3).keys()); // another step's keys
            assertThrows(IllegalStateException.class, () -> ops.dropoutForward(out, in, plan.site(1)));
            ops.stageDropoutKeys(plan.keys());
            ops.dropoutForward(out, in, plan.site(1));
            // A loose site (a single op outside any plan) has its key copied as it is queued, not in a capture.
            ops.dropoutForward(out, in, Dropout.of(0.1f, 5, 9));
            assertThrows(IllegalStateException.class, () -> ops.capture(() -> ops.dropoutForward(out, in,
                    Dropout.of(0.1f, 5, 9))));
        }
    }

    /**
     * The copy stream: every staged write is uploaded on it and copied into place on the compute stream after an
     * event wait for that upload (so kernels queued after the write see it, and the compute stream never waits for
     * the host); an upload waits only for its landing buffer to be drained, never for the step queued just before
     * it, which it therefore overlaps.
     */
    @Test
    void stagedWritesTravelOnTheCopyStreamOrderedByEvents() {
        RecordingDriver driver = new RecordingDriver();
        try (CudaOps ops = driver.backend()) {
            GPTModel m = new GPTModel(CFG, ops, 1);
            try (TrainingStep step = training(m, true)) {
                for (int s = 0; s <= 5; s++) step.run(List.of(batch(2, 8)), 1e-3f, s, 1);
            }
        }
        List<String> log = driver.streamLog;
        assertFalse(log.contains("compute upload"), "no upload on the compute stream");
        int graphs = 0, copiesSinceGraph = 0;
        for (int i = 0; i < log.size(); i++) {
            String[] e = log.get(i).split(" ");
            if (e[1].equals("upload")) {
                assertEquals("copy", e[0]);
                assertEquals("copy record", log.get(i + 1).substring(0, 11), "each upload is followed by its event");
            }
            if (e[0].equals("compute") && e[1].equals("wait")) {
                assertTrue(lastIndexOf(log, "copy record " + e[2], i) >= 0, "waits for a recorded upload: " + e[2]);
                assertEquals("compute copy", log.get(i + 1), "then copies the upload into place");
                copiesSinceGraph++;
            }
            if (e[0].equals("copy") && e[1].equals("wait")) {
                int recorded = lastIndexOf(log, "compute record " + e[2], i);
                assertTrue(recorded >= 0, "an upload waits only for a landing buffer drained on the compute stream");
                int lastGraph = lastIndexOf(log, "compute graph", i);
                assertTrue(recorded < lastGraph || lastGraph < 0,
                        "an upload after a graph launch does not wait for that step: " + log.subList(recorded, i + 1));
            }
            if (log.get(i).equals("compute graph")) {
                if (graphs++ > 0) // before the first: the weights' upload and the eager step
                    assertEquals(3, copiesSinceGraph, "tokens, targets and the learning rate land before each replay");
                copiesSinceGraph = 0;
            }
        }
        assertEquals(5, graphs);
        assertTrue(log.stream().anyMatch(l -> l.startsWith("copy wait")),
                "landing buffers are reused, so some uploads wait for drained buffers (checked above)");
    }

    private static int lastIndexOf(List<String> log, String entry, int before) {
        for (int i = before - 1; i >= 0; i--) if (log.get(i).equals(entry)) return i;
        return -1;
    }

    /** A token id outside the vocabulary is reported with its position on the host, before anything is queued. */
    @Test
    void anOutOfRangeTokenIsReportedWithItsPositionBeforeAnyUpload() {
        RecordingDriver driver = new RecordingDriver();
        try (CudaOps ops = driver.backend()) {
            GPTModel m = new GPTModel(CFG, ops, 1);
            try (TrainingStep step = training(m, true)) {
                for (int s = 0; s < 3; s++) step.run(List.of(batch(2, 8)), 1e-3f, s, 1);
                Batch bad = batch(2, 8);
                bad.inputs()[11] = 17;
                driver.resetCounts();
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> step.run(List.of(bad), 1e-3f, 3, 1));
                assertTrue(e.getMessage().contains("token id 17 at position 11"), e.getMessage());
                assertEquals(1, driver.asyncHostCopies, "only the learning rate was queued, not the bad batch");
                assertEquals(0, driver.graphLaunches);
                assertEquals(0, driver.hostWaits, "found without waiting for the device");
            }
        }
    }

    @Test
    void eagerStepsDoNotWaitEither() {
        RecordingDriver driver = new RecordingDriver();
        try (CudaOps ops = driver.backend()) {
            GPTModel m = new GPTModel(CFG, ops, 1);
            TrainingStep step = training(m, false); // --no-graph
            step.run(List.of(batch(2, 8)), 1e-3f, 0, 1);
            driver.resetCounts();
            for (int s = 1; s <= 3; s++) step.run(List.of(batch(2, 8), batch(2, 8)), 1e-3f, s, 1); // accumulating
            assertEquals(0, driver.captures);
            assertEquals(0, driver.hostWaits);
            assertEquals(0, driver.allocations);
            assertEquals(3, Collections.frequency(driver.launched, "adamw_arena"), "one optimizer launch per step");
            assertEquals(6, Collections.frequency(driver.launched, "loss_accumulate"), "one per micro-batch");
        }
    }

    @Test
    void aNewShapeRunsEagerlyOnceAndIsRecordedAgain() {
        RecordingDriver driver = new RecordingDriver();
        try (CudaOps ops = driver.backend()) {
            GPTModel m = new GPTModel(CFG, ops, 1);
            try (TrainingStep step = training(m, true)) {
                for (int s = 0; s < 2; s++) step.run(List.of(batch(2, 8)), 1e-3f, s, 1);
                for (int s = 2; s < 5; s++) step.run(List.of(batch(1, 16)), 1e-3f, s, 1);
                assertEquals(2, driver.captures);
            }
        }
    }

    /**
     * One eager step of another shape may move the buffers a recorded graph reads, so that graph is dropped:
     * back at its shape, the step runs eagerly once more and is recorded again rather than replayed stale.
     */
    @Test
    void anEagerStepOfAnotherShapeDropsTheRecordedGraph() {
        RecordingDriver driver = new RecordingDriver();
        try (CudaOps ops = driver.backend()) {
            GPTModel m = new GPTModel(CFG, ops, 1);
            try (TrainingStep step = training(m, true)) {
                for (int s = 0; s < 2; s++) step.run(List.of(batch(2, 8)), 1e-3f, s, 1);
                step.run(List.of(batch(1, 16)), 1e-3f, 2, 1);
                step.run(List.of(batch(2, 8)), 1e-3f, 3, 1);
                assertFalse(step.replaying());
                step.run(List.of(batch(2, 8)), 1e-3f, 4, 1);
                assertTrue(step.replaying());
                assertEquals(2, driver.captures, "the first shape recorded again after the other's eager step");
            }
        }
    }

    /** A shape's activations are one device allocation, made once: the addresses a recorded step reads stay put. */
    @Test
    void activationsAreOneAllocationPerShape() {
        RecordingDriver driver = new RecordingDriver();
        try (CudaOps ops = driver.backend()) {
            GPTModel m = new GPTModel(CFG, ops, 1);
            Batch b = batch(2, 8);
            driver.resetCounts();
            m.stage(b.inputs(), b.targets(), 2, 8, io.jgpt.model.DropoutPlan.eval());
            assertEquals(1, driver.allocations, "every activation of the shape in one allocation");
            m.stage(b.inputs(), b.targets(), 2, 8, io.jgpt.model.DropoutPlan.eval());
            assertEquals(1, driver.allocations, "the same shape reuses it");
            Batch other = batch(1, 16);
            m.stage(other.inputs(), other.targets(), 1, 16, io.jgpt.model.DropoutPlan.eval());
            assertEquals(2, driver.allocations, "a new shape gets its own");
        }
    }

    /**
     * Evaluating another batch shape between training steps reallocates the activations, so the recorded step,
     * which would read the freed ones, is recorded again (after one eager step) instead of replayed.
     */
    @Test
    void anEvaluationOfAnotherShapeRetiresTheRecordedStep() {
        RecordingDriver driver = new RecordingDriver();
        try (CudaOps ops = driver.backend()) {
            GPTModel m = new GPTModel(CFG, ops, 1);
            AdamW opt = new AdamW(m.parameterArena(), AdamW.Settings.book(0.1f));
            try (TrainingStep step = new TrainingStep(m, opt, 1.0)) {
                for (int s = 0; s < 3; s++) step.run(List.of(batch(2, 8)), 1e-3f, s, 1);
                Batch eval = batch(1, 16);
                m.forward(eval.inputs(), 1, 16, io.jgpt.model.DropoutPlan.eval());
                driver.resetCounts();
                step.run(List.of(batch(2, 8)), 1e-3f, 3, 1);
                assertEquals(0, driver.graphLaunches, "the old graph is not replayed");
                assertEquals(1, Collections.frequency(driver.launched, "adamw_arena"), "an eager step");
                step.run(List.of(batch(2, 8)), 1e-3f, 4, 1);
                assertEquals(2, driver.captures, "recorded again");
                assertEquals(1, driver.graphLaunches);
            }
        }
    }

    /** A capture the driver refuses leaves training running eagerly, one launch of each kernel per step. */
    @Test
    void aRefusedCaptureFallsBackToEagerSteps() {
        RecordingDriver driver = new RecordingDriver();
        driver.refuseCaptures = true;
        try (CudaOps ops = driver.backend()) {
            GPTModel m = new GPTModel(CFG, ops, 1);
            try (TrainingStep step = training(m, true)) {
                for (int s = 0; s < 4; s++) step.run(List.of(batch(2, 8)), 1e-3f, s, 1);
            }
            assertEquals(0, driver.captures);
            assertEquals(0, driver.graphLaunches);
            assertEquals(4, Collections.frequency(driver.launched, "adamw_arena"), "every step ran, eagerly");
        }
    }

    /** The fake really catches what a capture must not contain, and a failed capture leaves no capture open. */
    @Test
    void unsafeCallsInsideACaptureFail() {
        RecordingDriver driver = new RecordingDriver();
        try (CudaOps ops = driver.backend()) {
            Tensor t = ops.zeros(DType.F32, 4);
            assertThrows(RecordingDriver.CaptureViolation.class, () -> ops.capture(ops::synchronize));
            assertThrows(RecordingDriver.CaptureViolation.class, () -> ops.capture(() -> ops.zeros(DType.F32, 8)));
            assertThrows(RecordingDriver.CaptureViolation.class, () -> ops.capture(() -> ops.download(t)));
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> ops.capture(() -> ops.write(t, new float[4])));
            assertTrue(e.getMessage().contains("during a graph capture"), e.getMessage());
            try (Ops.Graph g = ops.capture(() -> ops.zero(t))) {
                g.replay();
            }
            assertEquals(List.of("memset"), driver.captured);
        }
    }
}
