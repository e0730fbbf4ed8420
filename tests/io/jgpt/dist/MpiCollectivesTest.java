package io.jgpt.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Two MPI ranks run every collective ({@link Collectives}) over shared memory (Open MPI's vader) and over TCP
 * loopback alone (vader excluded, as between two machines): both ranks must report every result right.
 */
class MpiCollectivesTest {

    @ParameterizedTest(name = "btl {0}")
    @ValueSource(strings = {"self,vader", "self,tcp"})
    void everyCollectiveIsRightOnTwoRanks(String btl) throws Exception {
        Mpirun.assumeAvailable();
        List<String> mca = btl.contains("tcp")
                ? List.of("--mca", "btl", btl, "--mca", "btl_tcp_if_include", "lo", "--mca", "oob_tcp_if_include", "lo")
                : List.of("--mca", "btl", btl);
        Mpirun.Result r = Mpirun.run(Mpirun.command(2, mca, CollectiveCheck.class.getName(), List.of()), 120);
        assertEquals(0, r.exitCode(), r.output());
        for (int rank = 0; rank < 2; rank++) {
            assertTrue(r.output().contains("rank " + rank + " of 2: every collective correct"), r.output());
        }
    }
}
