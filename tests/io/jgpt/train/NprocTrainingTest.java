package io.jgpt.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.jgpt.Main;
import io.jgpt.checkpoint.RunDirectory;
import io.jgpt.dist.Mpirun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code jgpt train --nproc 2} on the CPU (which runs the command under mpirun) trains exactly as the same
 * command started by {@code mpirun -np 2}: bit-identical losses, gradient norms and final weights; rank 0
 * alone writes metrics. A rank that fails at run time makes the launching command fail.
 */
class NprocTrainingTest {

    private static List<String> args(Path corpus, Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--data", corpus.toString(), "--model", "book-124m",
                "--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--context", "16", "--batch", "2", "--seed", "9",
                "--lr", "1e-3", "--clip", "0.5", "--dropout", "0.1", "--eval-batches", "1", "--no-progress",
                "--threads", "1", "--steps", "6", "--out", out.toString()));
        a.addAll(List.of(extra));
        return a;
    }

    @Test
    void nprocTrainsLikeMpirun(@TempDir Path tmp) throws Exception {
        Mpirun.assumeAvailable();
        Path corpus = DataParallelTrainingTest.corpus(tmp), launched = tmp.resolve("nproc"), byMpirun = tmp.resolve("mpirun");
        assertEquals(0, Main.run(args(corpus, launched, "--nproc", "2").toArray(String[]::new)));
        Mpirun.Result r = Mpirun.run(Mpirun.command(2, List.of(), Main.class.getName(), args(corpus, byMpirun)), 300);
        assertEquals(0, r.exitCode(), r.output());

        DataParallelTrainingTest.assertSameLog(byMpirun, launched);
        Map<Long, com.fasterxml.jackson.databind.JsonNode> log = DataParallelTrainingTest.trainRecords(launched);
        assertEquals(6, log.size(), "one record per step: rank 0 alone writes metrics.jsonl");
        assertEquals(2, log.get(6L).get("world_size").asInt());
        Map<String, float[]> a = DataParallelTrainingTest.weights(RunDirectory.latestCheckpoint(launched).orElseThrow());
        Map<String, float[]> b = DataParallelTrainingTest.weights(RunDirectory.latestCheckpoint(byMpirun).orElseThrow());
        for (String name : a.keySet()) {
            for (int i = 0; i < a.get(name).length; i++) {
                assertEquals(Float.floatToRawIntBits(b.get(name)[i]), Float.floatToRawIntBits(a.get(name)[i]), name + "[" + i + "]");
            }
        }
    }

    @Test
    void aRankThatFailsFailsTheLaunch(@TempDir Path tmp) throws Exception {
        Mpirun.assumeAvailable();
        Path notText = tmp.resolve("corpus.txt");
        Files.write(notText, new byte[] {(byte) 0xff, (byte) 0xfe, 0x41}); // not UTF-8: every rank refuses it after launch
        assertNotEquals(0, Main.run(args(notText, tmp.resolve("run"), "--nproc", "2").toArray(String[]::new)));
    }
}
