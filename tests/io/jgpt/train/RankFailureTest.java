package io.jgpt.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.Main;
import io.jgpt.checkpoint.ModelSource;
import io.jgpt.checkpoint.RunDirectory;
import io.jgpt.cpu.CpuOps;
import io.jgpt.dist.Mpirun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One of two MPI ranks is killed (SIGKILL) mid-run: the job ends with a non-zero exit within 60 s, the newest
 * checkpoint loads, and training resumes from it (on one rank).
 */
class RankFailureTest {

    private static List<String> args(Path corpus, Path out, long steps) {
        return new ArrayList<>(List.of("train", "--data", corpus.toString(), "--model", "book-124m", "--n-layer", "1",
                "--n-head", "2", "--n-embd", "16", "--context", "16", "--batch", "2", "--seed", "5", "--lr", "1e-3",
                "--eval-batches", "1", "--no-progress", "--threads", "1", "--steps", Long.toString(steps),
                "--out", out.toString()));
    }

    @Test
    void aKilledRankEndsTheJobWithinAMinuteAndTheLastCheckpointStillLoads(@TempDir Path tmp) throws Exception {
        Mpirun.assumeAvailable();
        Path corpus = DataParallelTrainingTest.corpus(tmp), run = tmp.resolve("run"), log = tmp.resolve("mpirun.log");
        List<String> train = args(corpus, run, 100_000);
        train.addAll(List.of("--save-every", "2", "--keep", "3"));
        Process job = Mpirun.start(Mpirun.command(2, List.of(), Main.class.getName(), train), log);
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
            while (System.nanoTime() < deadline && job.isAlive() && RunDirectory.checkpoints(run).size() < 2) Thread.sleep(50);
            assertTrue(job.isAlive() && RunDirectory.checkpoints(run).size() >= 2, "no checkpoints: " + Files.readString(log));
            ProcessHandle rank = job.descendants().filter(p -> p.info().commandLine().orElse("").contains(Main.class.getName()))
                    .max(Comparator.comparingLong(ProcessHandle::pid)).orElseThrow();
            long killed = System.nanoTime();
            rank.destroyForcibly();
            assertTrue(job.waitFor(60, TimeUnit.SECONDS), "the job still runs 60 s after a rank was killed");
            double seconds = (System.nanoTime() - killed) / 1e9;
            assertNotEquals(0, job.exitValue(), Files.readString(log));
            assertTrue(seconds < 60, "ended after " + seconds + " s");
        } finally {
            job.descendants().forEach(ProcessHandle::destroyForcibly);
            job.destroyForcibly();
        }
        Path last = RunDirectory.latestCheckpoint(run).orElseThrow();
        try (CpuOps ops = new CpuOps(1)) {
            ModelSource.open(last.toString(), ops, 0, UnaryOperator.identity());
        }
        long step = Long.parseLong(last.getFileName().toString().substring("step-".length()));
        List<String> resume = args(corpus, run, step + 2);
        resume.addAll(List.of("--resume", last.toString()));
        assertEquals(0, Main.run(resume.toArray(String[]::new)));
    }
}
