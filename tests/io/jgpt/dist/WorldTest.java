package io.jgpt.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.JgptException;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Rank, size and local rank from mpirun's, srun's and torchrun's variables, in that precedence. */
class WorldTest {

    @Test
    void readsEachLauncher() {
        assertEquals(World.SINGLE, World.from(Map.of()));
        assertEquals(new World(1, 4, 1, World.Launcher.MPIRUN, null, 0), World.from(Map.of("OMPI_COMM_WORLD_RANK", "1",
                "OMPI_COMM_WORLD_SIZE", "4", "OMPI_COMM_WORLD_LOCAL_RANK", "1", "RANK", "3", "WORLD_SIZE", "9")));
        assertEquals(new World(5, 8, 1, World.Launcher.SRUN, "node1", 29500), World.from(Map.of("SLURM_PROCID", "5",
                "SLURM_NTASKS", "8", "SLURM_LOCALID", "1", "MASTER_ADDR", "node1", "MASTER_PORT", "29500")));
        assertEquals(new World(2, 3, 0, World.Launcher.ENV, "h", 1234), World.from(Map.of("RANK", "2", "WORLD_SIZE", "3",
                "LOCAL_RANK", "0", "MASTER_ADDR", "h", "MASTER_PORT", "1234")));
    }

    @Test
    void refusesInconsistentVariables() {
        JgptException e = assertThrows(JgptException.class, () -> World.from(Map.of("RANK", "2", "WORLD_SIZE", "2")));
        assertTrue(e.getMessage().contains("rank 2 of 2"), e.getMessage());
        assertTrue(assertThrows(JgptException.class, () -> World.from(Map.of("RANK", "0"))).getMessage().contains("WORLD_SIZE"));
        assertTrue(assertThrows(JgptException.class, () -> World.from(Map.of("RANK", "x", "WORLD_SIZE", "2")))
                .getMessage().contains("RANK=x"));
    }
}
