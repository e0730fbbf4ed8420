package io.jgpt.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.JgptException;
import io.jgpt.checkpoint.RunDirectory;
import io.jgpt.cpu.CpuOps;
import io.jgpt.data.BatchLoader;
import io.jgpt.data.SlidingWindowDataset;
import io.jgpt.data.TokenSource;
import io.jgpt.model.GPTModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The loop's order of work: what is on disk when later work fails, when the plot is drawn, how a stop is honoured. */
class TrainerTest {

    private static SlidingWindowDataset data() {
        int[] ids = new int[100];
        for (int i = 0; i < ids.length; i++) ids[i] = (i * 5) % 17;
        return new SlidingWindowDataset(TokenSource.of("t", ids), 16);
    }

    private static Trainer trainer(CpuOps ops, Path out, long steps, int evalEvery, Function<GPTModel, String> sampler) {
        GPTModel m = new GPTModel(TrainingTest.SMALL, ops, 1);
        SlidingWindowDataset d = data();
        Trainer.Settings s = new Trainer.Settings(2, 1, steps, LrSchedule.constant(1e-3f), 0, 1, evalEvery, 1, 0, 3, 4, 1, false);
        return new Trainer(m, new AdamW(m.parameterArena(), AdamW.Settings.book(0.1f)), BatchLoader.training(d, 2, 1),
                BatchLoader.evaluation(d, 2), BatchLoader.evaluation(d, 2), out, s, sampler);
    }

    @Test
    void theFinalCheckpointIsOnDiskBeforeTheLastSampleCanFail(@TempDir Path out) {
        try (CpuOps ops = new CpuOps(1)) {
            Trainer t = trainer(ops, out, 3, 0, m -> {
                throw new JgptException("the sample failed");
            });
            assertThrows(JgptException.class, () -> t.run(null));
            assertEquals(List.of(RunDirectory.checkpointDir(out, 3)), RunDirectory.checkpoints(out));
        }
    }

    @Test
    void thePlotIsDrawnAtEveryEvaluationNotOnlyAtCheckpoints(@TempDir Path out) {
        // 6 windows, batch 2: an epoch is 3 steps, so the sampler runs mid-run, right after the step-3 evaluation.
        List<Boolean> plotThere = new ArrayList<>();
        try (CpuOps ops = new CpuOps(1)) {
            trainer(ops, out, 5, 3, m -> {
                plotThere.add(Files.exists(out.resolve(LossPlot.FILE)));
                return "";
            }).run(null);
        }
        assertEquals(List.of(true, true), plotThere, "loss.png at the step-3 evaluation (no checkpoint yet), and at the end");
    }

    @Test
    void aStopRequestedDuringEvaluationEndsItAndSavesWithoutLoggingIt(@TempDir Path out) throws Exception {
        try (CpuOps ops = new CpuOps(1)) {
            Trainer[] t = new Trainer[1];
            // The sampler runs after the step-3 evaluation; asking to stop there must end the run at once.
            t[0] = trainer(ops, out, 1000, 3, m -> {
                t[0].requestStop();
                return "";
            });
            Trainer.Outcome o = t[0].run(null);
            assertTrue(o.stopped());
            assertEquals(3, o.steps());
            assertEquals(RunDirectory.checkpointDir(out, 3), o.checkpoint());
        }
    }

    @Test
    void evaluationStopsAfterTheBatchWhereItsWatchSaysSo() {
        try (CpuOps ops = new CpuOps(1)) {
            GPTModel m = new GPTModel(TrainingTest.SMALL, ops, 1);
            BatchLoader loader = BatchLoader.evaluation(data(), 1);
            List<Integer> seen = new ArrayList<>();
            assertNull(Evaluation.run(m, loader, 0, (done, total) -> {
                seen.add(done);
                return done < 2;
            }));
            assertEquals(List.of(1, 2), seen, "two batches of " + loader.batchesPerEpoch() + ", then stopped");
            Evaluation.Result all = Evaluation.run(m, loader, 0);
            assertFalse(Double.isNaN(all.loss()));
        }
    }
}
