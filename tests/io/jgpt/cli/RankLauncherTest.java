package io.jgpt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The --nproc supervisor: the first non-zero exit of a child is the job's, and the other children are
 * stopped rather than left running; all children succeeding is 0. The ranks' command is the same command
 * without --nproc, and GPU ranks get torchrun's variables.
 */
class RankLauncherTest {

    private static Process sh(String script) throws Exception {
        return new ProcessBuilder("sh", "-c", script).start();
    }

    @Test
    void theFirstFailureIsTheJobsAndStopsTheOthers() throws Exception {
        Process failing = sh("sleep 0.3; exit 3"), later = sh("sleep 1; exit 5"), sleeper = sh("sleep 120");
        long start = System.nanoTime();
        int status = RankLauncher.supervise(List.of(sleeper, failing, later));
        double seconds = (System.nanoTime() - start) / 1e9;
        assertEquals(3, status, "the first child to fail decides the exit status");
        assertFalse(sleeper.isAlive(), "the other ranks are stopped");
        assertTrue(seconds < RankLauncher.GRACE_SECONDS, "stopped by SIGTERM, within " + seconds + " s");
    }

    @Test
    void allSucceedingIsZero() throws Exception {
        assertEquals(0, RankLauncher.supervise(List.of(sh("exit 0"), sh("sleep 0.2"))));
    }

    @Test
    void ranksRunTheSameCommandWithoutNproc() {
        assertEquals(List.of("--data", "a.txt", "--steps", "3"),
                RankLauncher.withoutNproc(List.of("--data", "a.txt", "--nproc", "2", "--steps", "3")));
        assertEquals(List.of("--steps", "3"), RankLauncher.withoutNproc(List.of("--nproc=4", "--steps", "3")));
        assertEquals(Map.of("RANK", "1", "WORLD_SIZE", "2", "LOCAL_RANK", "1", "MASTER_ADDR", "127.0.0.1", "MASTER_PORT", "29400"),
                RankLauncher.torchrunVariables(1, 2, 29400));
        List<String> mpirun = RankLauncher.mpirun(2, List.of("train", "--steps", "3"));
        assertEquals(List.of("mpirun", "-np", "2"), mpirun.subList(0, 3));
        assertEquals(List.of("io.jgpt.Main", "train", "--steps", "3"), mpirun.subList(mpirun.size() - 4, mpirun.size()));
    }
}
