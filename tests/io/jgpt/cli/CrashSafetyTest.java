package io.jgpt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jgpt.Main;
import io.jgpt.checkpoint.ModelSource;
import io.jgpt.checkpoint.RunDirectory;
import io.jgpt.cpu.CpuOps;
import io.jgpt.demo.DemoCorpus;
import io.jgpt.train.LossPlot;
import io.jgpt.train.MetricsLog;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Training in a child JVM that is killed: checkpoints survive, and resuming reproduces the losses. */
class CrashSafetyTest {

    /** How long a signalled child may take to save and exit before the test calls it hung. */
    private static final long EXIT_BOUND_S = 120;
    /** Steps that may finish between the last logged one and the signal's arrival (a step here is milliseconds). */
    private static final long PROMPT_STEPS = 200;

    private static List<String> trainArgs(Path corpus, Path out, long steps) {
        return new ArrayList<>(List.of("train", "--data", corpus.toString(), "--model", "book-124m", "--n-layer", "1",
                "--n-head", "2", "--n-embd", "16", "--context", "16", "--batch", "2", "--seed", "5", "--lr", "1e-3",
                "--eval-batches", "1", "--no-progress", "--threads", "1", "--steps", Long.toString(steps),
                "--out", out.toString()));
    }

    private static Path corpus(Path dir) throws IOException {
        Path f = dir.resolve("corpus.txt");
        Files.writeString(f, DemoCorpus.generate(60, 1));
        return f;
    }

    private static Process child(List<String> args, Path log) throws IOException {
        return child(args, log, System.getProperty("java.io.tmpdir"));
    }

    private static Process child(List<String> args, Path log, String tmpdir) throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        // A child inherits an ignored SIGINT (any background job of a non-interactive shell: a CI script, a
        // queue running the suite), and jgpt keeps ignoring it as Unix programs do; so the test restores the
        // default disposition before starting the JVM, or it would wait for a Ctrl-C that can never arrive.
        List<String> cmd = new ArrayList<>(List.of("env", "--default-signal=INT", java, "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-Djava.io.tmpdir=" + tmpdir, "-cp", cp, Main.class.getName()));
        cmd.addAll(args);
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    /** step → loss of every logged training step (a later line for the same step wins: it is the resumed run's). */
    private static Map<Long, Double> losses(Path run) throws IOException {
        ObjectMapper json = new ObjectMapper();
        Map<Long, Double> out = new TreeMap<>();
        for (String line : Files.readAllLines(run.resolve(MetricsLog.FILE))) {
            JsonNode n = json.readTree(line);
            if (n.get("type").asText().equals("train")) out.put(n.get("step").asLong(), n.get("loss").asDouble());
        }
        return out;
    }

    private static boolean saveInProgress(Path run) throws IOException {
        Path dir = run.resolve(RunDirectory.CHECKPOINTS);
        if (!Files.isDirectory(dir)) return false;
        try (Stream<Path> s = Files.list(dir)) {
            return s.anyMatch(p -> p.getFileName().toString().startsWith(".tmp-"));
        }
    }

    @Test
    void killDuringSaveLeavesTheLastCheckpointAndResumeMatches(@TempDir Path tmp) throws Exception {
        Path corpus = corpus(tmp);
        Path straight = tmp.resolve("straight");
        assertEquals(0, Main.run(trainArgs(corpus, straight, 14).toArray(String[]::new)));

        Path killed = tmp.resolve("killed");
        List<String> args = trainArgs(corpus, killed, 1000);
        args.addAll(List.of("--save-every", "1", "--keep", "1000"));
        Process p = child(args, tmp.resolve("child.log"));
        boolean caughtMidSave = false;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline && p.isAlive()) {
            if (RunDirectory.checkpoints(killed).size() >= 2 && saveInProgress(killed)) {
                p.destroyForcibly(); // SIGKILL, in the middle of writing a checkpoint
                caughtMidSave = true;
                break;
            }
            Thread.onSpinWait();
        }
        p.waitFor(30, TimeUnit.SECONDS);
        assertTrue(caughtMidSave, "the child was never caught saving: " + Files.readString(tmp.resolve("child.log")));

        Path last = RunDirectory.latestCheckpoint(killed).orElseThrow();
        try (CpuOps ops = new CpuOps(1)) {
            ModelSource.open(last.toString(), ops, 0, UnaryOperator.identity()); // loads: it was complete
        }
        long resumedFrom = Long.parseLong(last.getFileName().toString().substring("step-".length()));
        assertTrue(resumedFrom < 14, "killed too late to compare: " + resumedFrom);

        List<String> resume = trainArgs(corpus, killed, 14);
        resume.addAll(List.of("--resume", last.toString()));
        assertEquals(0, Main.run(resume.toArray(String[]::new)));
        Map<Long, Double> expected = losses(straight);
        Map<Long, Double> got = losses(killed);
        for (long step = resumedFrom + 1; step <= 14; step++) {
            assertEquals(expected.get(step), got.get(step), "loss at step " + step + " after resuming from " + resumedFrom);
        }
    }

    @Test
    void interruptSavesAFinalCheckpointAndSaysHowToResume(@TempDir Path tmp) throws Exception {
        Path run = tmp.resolve("run");
        Path javaTmp = Files.createDirectories(tmp.resolve("java-tmp"));
        Path log = tmp.resolve("child.log");
        Process p = child(trainArgs(corpus(tmp), run, 100_000), log, javaTmp.toString());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline && (!Files.exists(run.resolve(MetricsLog.FILE))
                || Files.readAllLines(run.resolve(MetricsLog.FILE)).size() < 3)) {
            Thread.sleep(20);
        }
        assertTrue(RunDirectory.checkpoints(run).isEmpty(), "no periodic checkpoints in this run");
        long stepAtSignal = lastLoggedStep(run);
        new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
        // Only a liveness bound: on a loaded machine saving, drawing loss.png and JVM exit can take many seconds.
        assertTrue(p.waitFor(EXIT_BOUND_S, TimeUnit.SECONDS), "the child did not exit after SIGINT");
        String said = Files.readString(log);
        assertEquals(130, p.exitValue(), said);
        Path last = RunDirectory.latestCheckpoint(run).orElseThrow(() -> new AssertionError("no checkpoint after SIGINT: " + said));
        assertFalse(said.contains("internal error") || said.contains("Shutdown in progress"), said);
        assertTrue(said.contains("interrupted at step " + last.getFileName().toString().replaceFirst("step-0*", "") + "; saved " + last), said);
        assertTrue(said.contains("resume with: ./jgpt train ") && said.contains("--resume " + last), said);
        assertTrue(!said.contains("./jgpt train train"), "the subcommand appears once: " + said);
        assertTrue(Files.exists(run.resolve(LossPlot.FILE)), "loss.png is drawn at the checkpoint");
        assertEquals(List.of(), dotFiles(run), "no temporary files left in the run");
        try (Stream<Path> s = Files.list(javaTmp)) {
            assertEquals(List.of(), s.toList(), "nothing left in java.io.tmpdir");
        }
        // Promptness in steps, not seconds: the run stops at the next step boundary, so the checkpoint is at most
        // the few steps that finish while the signal is delivered past the last one logged (a step is milliseconds).
        long stoppedAt = resumedStep(last);
        assertTrue(stoppedAt >= stepAtSignal && stoppedAt <= stepAtSignal + PROMPT_STEPS,
                "stopped at step " + stoppedAt + " after SIGINT at step " + stepAtSignal);
        // A scheduler's SIGTERM is answered the same way: the run continues from here and is stopped again.
        List<String> again = trainArgs(corpus(tmp), run, 100_000);
        again.addAll(List.of("--resume", last.toString()));
        Process q = child(again, tmp.resolve("child2.log"), javaTmp.toString());
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < until && RunDirectory.latestCheckpoint(run).orElseThrow().equals(last)
                && lastLoggedStep(run) < resumedStep(last) + 3) {
            Thread.sleep(20);
        }
        new ProcessBuilder("kill", "-TERM", Long.toString(q.pid())).start().waitFor();
        assertTrue(q.waitFor(EXIT_BOUND_S, TimeUnit.SECONDS), "the child did not exit after SIGTERM");
        String said2 = Files.readString(tmp.resolve("child2.log"));
        assertEquals(130, q.exitValue(), said2);
        assertTrue(resumedStep(RunDirectory.latestCheckpoint(run).orElseThrow()) > resumedStep(last), said2);
        try (CpuOps ops = new CpuOps(1)) {
            ModelSource.open(last.toString(), ops, 0, UnaryOperator.identity());
        }
    }

    private static long lastLoggedStep(Path run) throws IOException {
        return losses(run).keySet().stream().mapToLong(Long::longValue).max().orElse(0);
    }

    private static long resumedStep(Path checkpoint) {
        return Long.parseLong(checkpoint.getFileName().toString().substring("step-".length()));
    }

    private static List<Path> dotFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(f -> f.getFileName().toString().startsWith(".")).toList();
        }
    }
}
