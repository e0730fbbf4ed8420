package io.jgpt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jgpt.checkpoint.RunDirectory;
import io.jgpt.demo.DemoCorpus;
import io.jgpt.train.LossPlot;
import io.jgpt.train.MetricsLog;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What train does with its run directory and what it tells the user (issue 13): one directory never holds
 * two runs, a resumed run says what it took over or that there is nothing to do, numbers are numbers, and
 * the log is in jgpt's own words.
 */
class RunDirectoryTest {

    @TempDir
    static Path tmp;
    static Path corpus;

    @BeforeAll
    static void corpus() throws IOException {
        corpus = tmp.resolve("corpus.txt");
        Files.writeString(corpus, DemoCorpus.generate(30, 3));
    }

    static CliRun jgpt(List<String> args) {
        return CliRun.of(args);
    }

    static List<String> train(Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("train", "--data", corpus.toString(), "--model", "book-124m", "--n-layer", "1",
                "--n-head", "2", "--n-embd", "16", "--context", "16", "--batch", "2", "--eval-batches", "1", "--threads", "1",
                "--out", out.toString()));
        for (int i = 0; i < more.length; i++) {
            int at = a.indexOf(more[i]);
            boolean valued = i + 1 < more.length && !more[i + 1].startsWith("--");
            if (at >= 0 && valued) a.set(at + 1, more[++i]); // a flag given again replaces the default above
            else {
                a.add(more[i]);
                if (valued) a.add(more[++i]);
            }
        }
        return a;
    }

    static List<String> resume(Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("train", "--data", corpus.toString(), "--eval-batches", "1", "--threads", "1",
                "--resume", out.toString(), "--out", out.toString()));
        a.addAll(List.of(more));
        return a;
    }

    static List<JsonNode> metrics(Path run) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve(MetricsLog.FILE))) out.add(json.readTree(line));
        return out;
    }

    @Test
    void anOutputHoldingAnotherRunIsRefusedAndOverwriteStartsOverWithoutLosingTheNewCheckpoint() throws IOException {
        Path run = tmp.resolve("old-run");
        assertEquals(0, jgpt(train(run, "--steps", "3")).code());
        // An old run that got further than the new one will: --keep 1 used to rank it first and delete the new checkpoint.
        Files.move(RunDirectory.checkpoints(run).getFirst(), RunDirectory.checkpointDir(run, 200));
        String oldMetrics = Files.readString(run.resolve(MetricsLog.FILE));

        CliRun refused = jgpt(train(run, "--steps", "2", "--keep", "1"));
        assertEquals(2, refused.code(), refused.err());
        assertTrue(refused.err().contains("already holds a run") && refused.err().contains("--resume " + run)
                && refused.err().contains("--overwrite"), refused.err());
        assertEquals(oldMetrics, Files.readString(run.resolve(MetricsLog.FILE)), "metrics.jsonl must be left alone");
        assertEquals(List.of(RunDirectory.checkpointDir(run, 200)), RunDirectory.checkpoints(run));

        CliRun over = jgpt(train(run, "--steps", "2", "--keep", "1", "--overwrite"));
        assertEquals(0, over.code(), over.err());
        assertEquals(List.of(RunDirectory.checkpointDir(run, 2)), RunDirectory.checkpoints(run), "the new run's checkpoint, only");
        assertTrue(over.out().contains(RunDirectory.checkpointDir(run, 2).toString()), over.out());
        assertEquals(2, metrics(run).stream().filter(n -> n.get("type").asText().equals("train")).count(), "only the new run's steps");
    }

    @Test
    void aNonEmptyFolderThatIsNoRunIsRefusedToo() throws IOException {
        Path folder = Files.createDirectories(tmp.resolve("papers"));
        Files.writeString(folder.resolve("thesis.tex"), "mine");
        CliRun r = jgpt(train(folder, "--steps", "1"));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("is not empty (thesis.tex)"), r.err());
        assertEquals(List.of(folder.resolve("thesis.tex")), Files.list(folder).toList());
    }

    @Test
    void resumingTakesTheCheckpointsSettingsAndSaysWhenThereIsNothingToDo() throws IOException {
        Path run = tmp.resolve("resumed");
        assertEquals(0, jgpt(train(run, "--steps", "2", "--batch", "3", "--seed", "77")).code());
        CliRun more = jgpt(resume(run, "--steps", "4"));
        assertEquals(0, more.code(), more.err());
        assertTrue(more.err().contains("taken from the checkpoint: seed 77, batch 3, accum 1, context 16, stride 16, shuffled"), more.err());
        assertEquals(RunDirectory.checkpointDir(run, 4), RunDirectory.latestCheckpoint(run).orElseThrow());

        String before = Files.readString(run.resolve(MetricsLog.FILE));
        List<Path> checkpoints = RunDirectory.checkpoints(run);
        CliRun nothing = jgpt(resume(run, "--steps", "3"));
        assertEquals(0, nothing.code(), nothing.err());
        assertTrue(nothing.out().startsWith("nothing to do: ") && nothing.out().contains("at step 4"), nothing.out());
        assertFalse((nothing.out() + nothing.err()).contains("NaN"), nothing.out() + nothing.err());
        assertEquals(before, Files.readString(run.resolve(MetricsLog.FILE)));
        assertEquals(checkpoints, RunDirectory.checkpoints(run));
    }

    @Test
    void withoutValidationNothingSaysNaNAndEveryMetricIsANumber() throws IOException {
        Path run = tmp.resolve("no-val");
        CliRun r = jgpt(train(run, "--steps", "2", "--val-fraction", "0", "--eval-every", "1"));
        assertEquals(0, r.code(), r.err());
        assertFalse((r.out() + r.err()).contains("NaN"), r.out() + r.err());
        assertFalse(r.err().contains("val loss"), r.err());
        for (JsonNode n : metrics(run)) assertOnlyNumbers(n);
        assertFalse(metrics(run).stream().anyMatch(n -> n.has("val_loss")));
    }

    @Test
    void nonFiniteStepsAreLoggedWithTheirMetricsStepAndTheStopSaysNoCheckpointExists() throws IOException {
        Path run = tmp.resolve("diverged");
        // A rate of 1e30 makes the first update blow the weights up; every later loss is not finite.
        CliRun r = jgpt(train(run, "--steps", "50", "--lr", "1e30", "--max-bad-steps", "3"));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("no checkpoint was written"), r.err());
        assertFalse(r.err().contains("last good checkpoint is left"), r.err());
        List<JsonNode> records = metrics(run);
        for (JsonNode n : records) assertOnlyNumbers(n);
        Matcher m = Pattern.compile("step (\\d+): loss \\S+ / gradient norm \\S+ is not finite").matcher(r.err());
        int warned = 0;
        while (m.find()) {
            long step = Long.parseLong(m.group(1));
            assertTrue(records.stream().anyMatch(n -> n.get("type").asText().equals("train") && n.get("step").asLong() == step
                    && n.get("skipped").asBoolean()), "the log's step " + step + " is the metrics' skipped step " + step);
            warned++;
        }
        assertEquals(3, warned, r.err());
    }

    @Test
    void theLogIsInJgptsOwnWordsAndStartsWithASummary() throws IOException {
        Path run = tmp.resolve("words");
        CliRun r = jgpt(train(run, "--steps", "2"));
        assertEquals(0, r.code(), r.err());
        assertFalse(r.err().contains("INFO") || r.err().contains("[main]") || r.err().contains("io.jgpt."), r.err());
        String first = r.err().lines().findFirst().orElse("");
        assertTrue(first.startsWith("training book-124m on cpu: ") && first.contains(" parameters ")
                && first.contains(" train / ") && first.contains(" validation tokens; ") && first.contains(" batches of 2 x 16 per epoch; steps 1 to 2"), first);
        assertTrue(r.err().lines().anyMatch(l -> l.startsWith("before training: train loss ")), r.err());
    }

    @Test
    void filesAreWrittenWithTheUsersUmaskNotPrivately() throws IOException {
        Path run = tmp.resolve("modes");
        assertEquals(0, jgpt(train(run, "--steps", "1")).code());
        Path reference = Files.createFile(tmp.resolve("reference-file"));
        Set<PosixFilePermission> expected = Files.getPosixFilePermissions(reference);
        Path checkpoint = RunDirectory.latestCheckpoint(run).orElseThrow();
        for (Path f : List.of(checkpoint.resolve("model.safetensors"), checkpoint.resolve("config.json"),
                checkpoint.resolve("trainer.json"), run.resolve(LossPlot.FILE))) {
            assertEquals(expected, Files.getPosixFilePermissions(f), f.toString());
        }
    }

    @Test
    void convertNeverWritesIntoARunAndReplacesOnlyWhenAsked() throws IOException {
        Path run = tmp.resolve("convert-run");
        assertEquals(0, jgpt(train(run, "--steps", "1")).code());
        Path checkpoint = RunDirectory.latestCheckpoint(run).orElseThrow();
        for (String flag : List.of("--from", "--overwrite")) {
            List<String> args = new ArrayList<>(List.of("convert", "--from", checkpoint.toString(), "--to", run.toString()));
            if (flag.equals("--overwrite")) args.add(flag);
            CliRun r = jgpt(args);
            assertEquals(2, r.code(), r.err());
            assertFalse(Files.exists(run.resolve("config.json")), "the run directory must still stand for its newest checkpoint");
        }
        Path copy = tmp.resolve("copy");
        assertEquals(0, jgpt(List.of("convert", "--from", run.toString(), "--to", copy.toString())).code());
        assertEquals(-1L, Files.mismatch(checkpoint.resolve("model.safetensors"), copy.resolve("model.safetensors")));
        CliRun again = jgpt(List.of("convert", "--from", run.toString(), "--to", copy.toString()));
        assertEquals(2, again.code(), again.err());
        Files.writeString(copy.resolve("README.md"), "my notes");
        assertEquals(0, jgpt(List.of("convert", "--from", run.toString(), "--to", copy.toString(), "--overwrite")).code());
        assertEquals("my notes", Files.readString(copy.resolve("README.md")), "--overwrite replaces the weights only");
    }

    @Test
    void theModelFileNamedIsTheOneLoadedOrRefused() throws IOException {
        Path a = tmp.resolve("named-a");
        Path b = tmp.resolve("named-b");
        assertEquals(0, jgpt(train(a, "--steps", "1", "--seed", "1")).code());
        assertEquals(0, jgpt(train(b, "--steps", "1", "--seed", "2")).code());
        Path dirA = RunDirectory.latestCheckpoint(a).orElseThrow();
        Files.copy(RunDirectory.latestCheckpoint(b).orElseThrow().resolve("model.safetensors"), dirA.resolve("other.safetensors"));
        List<String> eval = List.of("eval", "--data", corpus.toString(), "--context", "16", "--threads", "1", "--json", "--model");
        // It used to load the sibling model.safetensors of run a, silently.
        CliRun other = jgpt(concat(eval, dirA.resolve("other.safetensors").toString()));
        assertEquals(2, other.code(), other.out());
        assertTrue(other.err().contains("other.safetensors: a checkpoint's weights are read from its model.safetensors"), other.err());
        assertEquals(loss(jgpt(concat(eval, dirA.toString()))), loss(jgpt(concat(eval, dirA.resolve("model.safetensors").toString()))), 0.0);
    }

    @Test
    void dropoutAppliesToALoadedModel() throws IOException {
        Path run = tmp.resolve("dropout");
        assertEquals(0, jgpt(train(run, "--steps", "1")).code());
        CliRun r = jgpt(resume(run, "--steps", "2", "--dropout", "0"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("(dropout 0.0)"), r.err());
    }

    private static List<String> concat(List<String> a, String last) {
        List<String> out = new ArrayList<>(a);
        out.add(last);
        return out;
    }

    private static double loss(CliRun r) throws IOException {
        assertEquals(0, r.code(), r.err());
        return new ObjectMapper().readTree(r.out()).get("loss").asDouble();
    }

    private static void assertOnlyNumbers(JsonNode record) {
        for (Iterator<Map.Entry<String, JsonNode>> it = record.fields(); it.hasNext(); ) {
            var e = it.next();
            if (e.getKey().equals("type")) continue;
            assertTrue(e.getValue().isNumber() || e.getValue().isBoolean(), e.getKey() + " = " + e.getValue() + " in " + record);
        }
    }
}
