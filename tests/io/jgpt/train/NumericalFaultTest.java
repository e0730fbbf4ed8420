package io.jgpt.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.JgptException;
import io.jgpt.checkpoint.RunDirectory;
import io.jgpt.cpu.CpuOps;
import io.jgpt.data.BatchLoader;
import io.jgpt.data.SlidingWindowDataset;
import io.jgpt.data.TokenSource;
import io.jgpt.model.GPTModel;
import io.jgpt.model.Parameter;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A NaN never reaches the weights or a checkpoint. */
class NumericalFaultTest {

    private static void poison(CpuOps ops, GPTModel m) {
        Parameter p = m.namedParameters().get("ln_f.weight");
        float[] w = ops.download(p.value());
        w[0] = Float.NaN;
        ops.write(p.value(), w);
    }

    @Test
    void nonFiniteLossSkipsTheUpdate() {
        try (CpuOps ops = new CpuOps(1)) {
            GPTModel m = new GPTModel(TrainingTest.SMALL, ops, 1);
            poison(ops, m);
            Parameter probe = m.namedParameters().get("h.0.mlp.c_fc.weight");
            float[] before = ops.download(probe.value());
            TrainingStep step = new TrainingStep(m, new AdamW(m.parameterArena(), AdamW.Settings.book(0.1f)), 1.0);
            step.run(List.of(TrainingTest.patternBatch()), 1e-2f, 0, 1);
            TrainingStep.Result r = step.result();
            assertTrue(r.skipped());
            assertEquals(1, r.badInARow());
            assertArrayEquals(before, ops.download(probe.value()), 0f, "weights must be untouched by a skipped step");
        }
    }

    @Test
    void consecutiveBadStepsStopTrainingWithoutACheckpoint(@TempDir Path out) {
        try (CpuOps ops = new CpuOps(1)) {
            GPTModel m = new GPTModel(TrainingTest.SMALL, ops, 1);
            poison(ops, m);
            int[] ids = new int[300];
            for (int i = 0; i < ids.length; i++) ids[i] = (i * 5) % 17;
            SlidingWindowDataset data = new SlidingWindowDataset(TokenSource.of("p", ids), 16);
            Trainer.Settings s = new Trainer.Settings(2, 1, 50, LrSchedule.constant(1e-3f), 0, 1, 0, 1, 1, 3, 4, 1, false);
            Trainer t = new Trainer(m, new AdamW(m.parameterArena(), AdamW.Settings.book(0.1f)),
                    BatchLoader.training(data, 2, 1), BatchLoader.evaluation(data, 2), null, out, s, null);
            JgptException e = assertThrows(JgptException.class, () -> t.run(null));
            assertTrue(e.getMessage().contains("4 consecutive steps"), e.getMessage());
            assertTrue(RunDirectory.checkpoints(out).isEmpty(), "no checkpoint may hold NaN weights");
        }
    }
}
