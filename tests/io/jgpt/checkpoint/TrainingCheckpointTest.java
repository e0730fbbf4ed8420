package io.jgpt.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jgpt.cpu.Bf16Storage;
import io.jgpt.cpu.CpuOps;
import io.jgpt.data.BatchLoader;
import io.jgpt.data.SlidingWindowDataset;
import io.jgpt.data.TokenSource;
import io.jgpt.io.SafetensorsFile;
import io.jgpt.model.DropoutPlan;
import io.jgpt.model.GPTConfig;
import io.jgpt.model.GPTModel;
import io.jgpt.ops.Ops;
import io.jgpt.ops.Precision;
import io.jgpt.train.AdamW;
import io.jgpt.train.LrSchedule;
import io.jgpt.train.MetricsLog;
import io.jgpt.train.Trainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class TrainingCheckpointTest {

    static final GPTConfig TINY = new GPTConfig(29, 12, 16, 2, 2, 0.1f, false, false);

    static int[] tokens(int n, long seed) {
        Random r = new Random(seed);
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = (i % 7 == 0) ? r.nextInt(29) : (ids[Math.max(0, i - 1)] * 3 + 1) % 29;
        return ids;
    }

    @Test
    void savedCheckpointReloadsToBitIdenticalLogits(@TempDir Path run) {
        try (CpuOps ops = new CpuOps(2)) {
            GPTModel model = new GPTModel(TINY, ops, 3);
            AdamW adamw = new AdamW(model.parameterArena(), AdamW.Settings.book(0.1f));
            Path dir = TrainingCheckpoint.save(run, model, adamw, new TrainerState(5, 0, 0, 1, 0, 0), 2);
            GPTModel loaded = ModelSource.open(run.toString(), ops, 99, UnaryOperator.identity());
            assertEquals(model.config().withDropRate(0.1f), loaded.config().withDropRate(0.1f));
            int[] ids = tokens(24, 1);
            float[] a = ops.download(model.forward(ids, 2, 12, DropoutPlan.eval()));
            float[] b = ops.download(loaded.forward(ids, 2, 12, DropoutPlan.eval()));
            assertArrayEquals(a, b, 0f);
            assertTrue(Files.exists(dir.resolve("config.json")));
        }
    }

    @Test
    void weightsFileUsesGpt2NamesAndConv1dLayout(@TempDir Path run) {
        try (CpuOps ops = new CpuOps(1)) {
            GPTModel model = new GPTModel(TINY, ops, 3);
            Path dir = TrainingCheckpoint.save(run, model, new AdamW(model.parameterArena(), AdamW.Settings.book(0f)),
                    new TrainerState(1, 0, 0, 1, 0, 0), 1);
            try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
                assertArrayEquals(new int[] {16, 48}, f.shape("transformer.h.1.attn.c_attn.weight"));
                assertArrayEquals(new int[] {48}, f.shape("transformer.h.1.attn.c_attn.bias")); // zeros: no qkv bias
                assertArrayEquals(new int[] {64, 16}, f.shape("transformer.h.0.mlp.c_proj.weight"));
                assertArrayEquals(new int[] {29, 16}, f.shape("lm_head.weight"));
                assertArrayEquals(new int[] {12, 16}, f.shape("transformer.wpe.weight"));
                assertFalse(f.names().stream().anyMatch(n -> n.contains("mask")), "the non-persistent mask is not saved");
            }
        }
    }

    @Test
    void keepsOnlyTheNewestCheckpoints(@TempDir Path run) {
        try (CpuOps ops = new CpuOps(1)) {
            GPTModel model = new GPTModel(TINY, ops, 3);
            AdamW adamw = new AdamW(model.parameterArena(), AdamW.Settings.book(0f));
            for (int step = 1; step <= 4; step++) TrainingCheckpoint.save(run, model, adamw, new TrainerState(step, 0, 0, 1, 0, 0), 2);
            assertEquals(List.of("step-00000003", "step-00000004"),
                    RunDirectory.checkpoints(run).stream().map(p -> p.getFileName().toString()).toList());
        }
    }

    @Test
    void neverPrunesTheCheckpointJustWrittenAndNeverLeavesAHalfDeletedOne(@TempDir Path run) throws IOException {
        try (CpuOps ops = new CpuOps(1)) {
            GPTModel model = new GPTModel(TINY, ops, 3);
            AdamW adamw = new AdamW(model.parameterArena(), AdamW.Settings.book(0f));
            TrainingCheckpoint.save(run, model, adamw, new TrainerState(200, 0, 0, 1, 0, 0), 1);
            // A later save at a lower step (an older run's leftovers): ranking by step alone deleted the new one.
            Path written = TrainingCheckpoint.save(run, model, adamw, new TrainerState(2, 0, 0, 1, 0, 0), 1);
            assertEquals(List.of(written), RunDirectory.checkpoints(run));
            try (var left = Files.list(run.resolve(RunDirectory.CHECKPOINTS))) {
                assertEquals(List.of(written), left.toList(), "nothing else, not even a dot-named leftover");
            }
        }
    }

    @Test
    void aDirectoryBeingDeletedOrAssembledIsNeverListed(@TempDir Path run) throws IOException {
        Files.createDirectories(run.resolve("checkpoints/.deleting-step-00000005-123"));
        Files.createDirectories(run.resolve("checkpoints/.tmp-step-00000006-123"));
        Files.createDirectories(run.resolve("checkpoints/step-00000004"));
        Files.createDirectories(run.resolve("checkpoints/step-100000000"));
        assertEquals(List.of("step-00000004", "step-100000000"),
                RunDirectory.checkpoints(run).stream().map(p -> p.getFileName().toString()).toList(), "by step number, not by name");
    }

    /**
     * Six steps in one go, and three steps then a resume for three more, log identical losses; in bf16 too,
     * where the checkpoint holds the fp32 masters and the resumed run makes its bf16 copies from them.
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Precision.class, names = {"FP32", "BF16"})
    void resumedRunReproducesTheUninterruptedLosses(Precision precision, @TempDir Path tmp) throws IOException {
        List<Double> straight = train(tmp.resolve("a"), 6, null, precision);
        train(tmp.resolve("b"), 3, null, precision);
        List<Double> resumed = new ArrayList<>(train(tmp.resolve("b"), 6, tmp.resolve("b"), precision));
        assertEquals(6, straight.size());
        assertEquals(straight, resumed);
        Path a = RunDirectory.latestCheckpoint(tmp.resolve("a")).orElseThrow();
        Path b = RunDirectory.latestCheckpoint(tmp.resolve("b")).orElseThrow();
        assertEquals(-1L, Files.mismatch(a.resolve("model.safetensors"), b.resolve("model.safetensors")),
                "the resumed run ends with the same fp32 weights");
        if (precision == Precision.BF16) {
            assertNotEquals(train(tmp.resolve("c"), 6, null, Precision.FP32), straight, "bf16 rounding took effect");
        }
    }

    /** Same seed, same thread count: the checkpoints are byte-for-byte the same files. */
    @Test
    void sameSeedWritesIdenticalCheckpointFiles(@TempDir Path tmp) throws IOException {
        train(tmp.resolve("a"), 4, null, Precision.FP32);
        train(tmp.resolve("b"), 4, null, Precision.FP32);
        Path a = RunDirectory.latestCheckpoint(tmp.resolve("a")).orElseThrow();
        Path b = RunDirectory.latestCheckpoint(tmp.resolve("b")).orElseThrow();
        for (String f : List.of("model.safetensors", "optimizer.safetensors", "trainer.json", "config.json")) {
            assertEquals(-1L, Files.mismatch(a.resolve(f), b.resolve(f)), f + " differs between identical runs");
        }
    }

    /** Trains to {@code steps} (resuming from {@code resume} if given) and returns every logged step loss. */
    private static List<Double> train(Path out, long steps, Path resume, Precision precision) throws IOException {
        try (Ops ops = precision == Precision.BF16 ? new Bf16Storage(new CpuOps(2)) : new CpuOps(2)) {
            GPTModel model = new GPTModel(TINY, ops, 7);
            AdamW adamw = new AdamW(model.parameterArena(), AdamW.Settings.book(0.1f));
            SlidingWindowDataset data = new SlidingWindowDataset(TokenSource.of("t", tokens(400, 5)), 12, 5);
            BatchLoader loader = BatchLoader.training(data, 3, 11);
            TrainerState state = resume == null ? null : TrainingCheckpoint.restore(resume, model, adamw);
            Trainer.Settings s = new Trainer.Settings(3, 1, steps, new LrSchedule(1e-2f, 1e-3f, 1e-3f, 2, 6), 1.0, 11,
                    0, 2, 0, 3, 5, 1, false);
            new Trainer(model, adamw, loader, BatchLoader.evaluation(data, 3), null, out, s, null).run(state);
        }
        ObjectMapper json = new ObjectMapper();
        List<Double> losses = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve(MetricsLog.FILE))) {
            JsonNode n = json.readTree(line);
            if (n.get("type").asText().equals("train")) losses.add(n.get("loss").asDouble());
        }
        return losses;
    }
}
