package io.jgpt.cli;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.JgptException;
import io.jgpt.dist.World;
import org.junit.jupiter.api.Test;

/** Which launches train accepts: one process needs no communicator; unsupported rank sharing is refused, saying why. */
class RanksTest {

    @Test
    void oneProcessNeedsNoCommunicator() {
        assertNull(Ranks.join(World.SINGLE, "cpu"));
    }

    @Test
    void cpuRanksWithoutMpiAndGpuRanksAreRefusedClearly() {
        World torchrunStyle = new World(0, 2, 0, World.Launcher.ENV, "127.0.0.1", 29500);
        String cpu = assertThrows(JgptException.class, () -> Ranks.join(torchrunStyle, "cpu")).getMessage();
        assertTrue(cpu.contains("mpirun -np 2"), cpu);
        String cuda = assertThrows(JgptException.class, () -> Ranks.join(torchrunStyle, "cuda")).getMessage();
        assertTrue(cuda.contains("--device cuda with 2 ranks"), cuda);
    }
}
