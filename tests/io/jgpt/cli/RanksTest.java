package io.jgpt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.JgptException;
import io.jgpt.cpu.CpuOps;
import io.jgpt.dist.World;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Which launches train accepts: one process needs no communicator; CPU ranks without MPI are refused, saying
 * how to launch them; GPU ranks each take cuda:$LOCAL_RANK, and a fixed device index with several ranks is refused.
 */
class RanksTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(5);

    @Test
    void oneProcessNeedsNoCommunicator() {
        try (CpuOps ops = new CpuOps(1)) {
            assertNull(Ranks.join(World.SINGLE, ops, TIMEOUT));
        }
        assertEquals("cuda:3", Ranks.device(World.SINGLE, "cuda:3"));
    }

    @Test
    void cpuRanksWithoutMpiAreRefusedClearly() {
        World torchrunStyle = new World(0, 2, 0, World.Launcher.ENV, "127.0.0.1", 29500);
        try (CpuOps ops = new CpuOps(1)) {
            String cpu = assertThrows(JgptException.class, () -> Ranks.join(torchrunStyle, ops, TIMEOUT)).getMessage();
            assertTrue(cpu.contains("mpirun -np 2"), cpu);
        }
    }

    @Test
    void eachGpuRankUsesItsLocalRanksDevice() {
        World second = new World(3, 4, 1, World.Launcher.ENV, "127.0.0.1", 29500);
        assertEquals("cuda:1", Ranks.device(second, "cuda"));
        assertEquals("cpu", Ranks.device(second, "cpu"));
        String fixed = assertThrows(JgptException.class, () -> Ranks.device(second, "cuda:0")).getMessage();
        assertTrue(fixed.contains("--device cuda:0 with 4 ranks") && fixed.contains("cuda:$LOCAL_RANK"), fixed);
    }
}
