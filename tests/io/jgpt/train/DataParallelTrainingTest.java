package io.jgpt.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jgpt.Main;
import io.jgpt.checkpoint.ModelSource;
import io.jgpt.checkpoint.RunDirectory;
import io.jgpt.checkpoint.TrainingCheckpoint;
import io.jgpt.cpu.CpuOps;
import io.jgpt.demo.DemoCorpus;
import io.jgpt.dist.Mpirun;
import io.jgpt.model.GPTModel;
import io.jgpt.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Training shared by two MPI ranks against one process, on a small model with dropout and clipping, 20 steps:
 * one rank with --accum 2 and two ranks with --accum 1 see the same global batches and dropout masks, so
 * their losses agree within 1e-6 relative and their weights within 1e-5 (not bit for bit: one rank adds the
 * second micro-batch's gradient into the first inside each backward op, two ranks add the two finished
 * gradients; the loss of a step is computed on identical weights only at step 1, where it is bitwise equal).
 * Two identical 2-rank runs are bit-identical (every gradient element is summed by one rank from the same two
 * addends, the norm's partial sums are added in rank order), and so are 2-rank runs with and without ZeRO-1,
 * checkpointed optimizer state included. Other bucket sizes move the norm's partial sums (which rank owns
 * which chunk), so they stay within the 1-rank bounds. A 2-rank run resumed from the 1-rank run's step-10
 * checkpoint continues within the same bounds. All 2-rank runs share one mpirun launch.
 */
class DataParallelTrainingTest {

    private static List<String> args(Path corpus, Path out, int accum, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--data", corpus.toString(), "--model", "book-124m",
                "--n-layer", "2", "--n-head", "2", "--n-embd", "16", "--context", "16", "--batch", "2", "--seed", "5",
                "--lr", "1e-3", "--clip", "0.5", "--dropout", "0.1", "--eval-batches", "1", "--no-progress",
                "--threads", "1", "--steps", "20", "--save-every", "10", "--keep", "5", "--accum", Integer.toString(accum),
                "--out", out.toString()));
        a.addAll(List.of(extra));
        return a;
    }

    static Path corpus(Path dir) throws Exception {
        Path f = dir.resolve("corpus.txt");
        Files.writeString(f, DemoCorpus.generate(60, 1));
        return f;
    }

    /** step → train record of metrics.jsonl. */
    static Map<Long, JsonNode> trainRecords(Path run) throws Exception {
        ObjectMapper json = new ObjectMapper();
        Map<Long, JsonNode> out = new LinkedHashMap<>();
        for (String line : Files.readAllLines(run.resolve(MetricsLog.FILE))) {
            JsonNode n = json.readTree(line);
            if (n.get("type").asText().equals("train")) out.put(n.get("step").asLong(), n);
        }
        return out;
    }

    static Map<String, float[]> weights(Path checkpoint) {
        Map<String, float[]> out = new LinkedHashMap<>();
        try (CpuOps ops = new CpuOps(1)) {
            GPTModel m = ModelSource.open(checkpoint.toString(), ops, 0, UnaryOperator.identity());
            for (Map.Entry<String, Tensor> e : m.stateDict().entrySet()) out.put(e.getKey(), ops.download(e.getValue()));
        }
        return out;
    }

    private static void assertClose(Path a, Path b, long fromStep, double lossRel, double weightTol) throws Exception {
        Map<Long, JsonNode> ra = trainRecords(a), rb = trainRecords(b);
        for (long step = fromStep; step <= 20; step++) {
            double x = ra.get(step).get("loss").asDouble(), y = rb.get(step).get("loss").asDouble();
            assertTrue(Math.abs(x - y) <= lossRel * Math.abs(x), "loss at step " + step + ": " + x + " vs " + y);
        }
        Map<String, float[]> wa = weights(RunDirectory.latestCheckpoint(a).orElseThrow());
        Map<String, float[]> wb = weights(RunDirectory.latestCheckpoint(b).orElseThrow());
        assertEquals(wa.keySet(), wb.keySet());
        for (String name : wa.keySet()) {
            float[] x = wa.get(name), y = wb.get(name);
            for (int i = 0; i < x.length; i++) {
                if (weightTol == 0) {
                    assertEquals(Float.floatToRawIntBits(x[i]), Float.floatToRawIntBits(y[i]), name + "[" + i + "]");
                } else {
                    assertTrue(Math.abs(x[i] - y[i]) <= weightTol, name + "[" + i + "]: " + x[i] + " vs " + y[i]);
                }
            }
        }
    }

    private static Path optimizerFile(Path run) {
        return RunDirectory.latestCheckpoint(run).orElseThrow().resolve(TrainingCheckpoint.OPTIMIZER_FILE);
    }

    /** Bit-identical losses and gradient norms at every step. */
    static void assertSameLog(Path a, Path b) throws Exception {
        Map<Long, JsonNode> ra = trainRecords(a), rb = trainRecords(b);
        assertEquals(ra.keySet(), rb.keySet());
        for (long step : ra.keySet()) {
            for (String field : List.of("loss", "grad_norm")) {
                assertEquals(ra.get(step).get(field).asDouble(), rb.get(step).get(field).asDouble(), field + " at step " + step);
            }
        }
    }

    @Test
    void twoRanksTrainLikeOneWithTheSameGlobalBatch(@TempDir Path tmp) throws Exception {
        Mpirun.assumeAvailable();
        Path corpus = corpus(tmp);
        Path one = tmp.resolve("one"), twoA = tmp.resolve("twoA"), twoA2 = tmp.resolve("twoA2"),
                twoBuckets = tmp.resolve("twoBuckets"), twoZero = tmp.resolve("twoZero"), resumed = tmp.resolve("resumed");
        assertEquals(0, Main.run(args(corpus, one, 2).toArray(String[]::new)));
        Path oneAt10 = RunDirectory.checkpoints(one).stream().filter(p -> p.getFileName().toString().endsWith("10"))
                .findFirst().orElseThrow();

        List<String> runs = new ArrayList<>(args(corpus, twoA, 1));
        runs.add("--next");
        runs.addAll(args(corpus, twoA2, 1));
        runs.add("--next");
        runs.addAll(args(corpus, twoBuckets, 1, "--bucket-mb", "1"));
        runs.add("--next");
        runs.addAll(args(corpus, twoZero, 1, "--zero", "1"));
        runs.add("--next");
        runs.addAll(args(corpus, resumed, 1, "--zero", "1", "--resume", oneAt10.toString()));
        Mpirun.Result r = Mpirun.run(Mpirun.command(2, List.of(), RunMany.class.getName(), runs), 600);
        assertEquals(0, r.exitCode(), r.output());

        assertClose(one, twoA, 1, 1e-6, 1e-5);
        assertEquals(trainRecords(one).get(1L).get("loss").asDouble(), trainRecords(twoA).get(1L).get("loss").asDouble());
        assertSameLog(twoA, twoA2);
        assertClose(twoA, twoA2, 1, 0, 0);
        assertClose(twoA, twoBuckets, 1, 1e-6, 1e-5);
        assertSameLog(twoA, twoZero);
        assertClose(twoA, twoZero, 1, 0, 0);
        for (Path dir : List.of(twoA, twoZero)) assertTrue(Files.isRegularFile(optimizerFile(dir)), dir.toString());
        assertEquals(-1, Files.mismatch(optimizerFile(twoA), optimizerFile(twoZero)),
                "ZeRO-1 gathers the same AdamW moments into today's checkpoint format");
        assertClose(one, resumed, 11, 1e-6, 1e-5);

        Map<Long, JsonNode> logged = trainRecords(twoA);
        assertEquals(20, logged.size(), "rank 0 alone writes metrics.jsonl: one record per step");
        assertEquals(2, logged.get(20L).get("world_size").asInt());
        assertEquals(1, trainRecords(one).get(20L).get("world_size").asInt());
        assertEquals(trainRecords(one).get(20L).get("tokens_seen").asLong(), logged.get(20L).get("tokens_seen").asLong(),
                "tokens_seen counts the global batch");
        // Four fresh runs (the resumed one does not evaluate first), logged by rank 0 alone.
        assertEquals(4, r.output().split("before training", -1).length - 1, r.output());
    }
}
