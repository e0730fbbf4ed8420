package io.jgpt.dist;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.JgptException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * Two ranks on one GPU are refused before NCCL starts, with a message naming both ranks, the GPU and the
 * cuda:N each opened; the same bus id on two machines is two GPUs. The exchange runs over ranks as threads.
 */
class DeviceIdentityTest {

    @Test
    void aSharedGpuIsRefusedNamingBothRanks() {
        assertDoesNotThrow(() -> DeviceIdentity.requireDistinct(List.of("a/0000:19:00.0", "a/0000:3b:00.0", "b/0000:19:00.0"),
                List.of(0, 1, 0)));
        String m = assertThrows(JgptException.class, () -> DeviceIdentity.requireDistinct(
                List.of("a/0000:19:00.0", "a/0000:3b:00.0", "a/0000:19:00.0"), List.of(0, 1, 0))).getMessage();
        assertTrue(m.contains("ranks 0 and 2") && m.contains("a/0000:19:00.0") && m.contains("cuda:0 and cuda:0"), m);
    }

    @Test
    void everyRankSeesTheDuplicateThroughTheExchange() throws Exception {
        ThreadRanks world = new ThreadRanks(3);
        String[] bus = {"0000:19:00.0", "0000:3b:00.0", "0000:19:00.0"};
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            List<Future<String>> out = new ArrayList<>();
            for (Communicator c : world.all()) {
                out.add(pool.submit(() -> {
                    try {
                        DeviceIdentity.exchangeAndCheck(c, "node/" + bus[c.rank()], c.rank() == 2 ? 0 : c.rank());
                        return "accepted";
                    } catch (JgptException e) {
                        return e.getMessage();
                    }
                }));
            }
            for (Future<String> f : out) {
                String m = f.get();
                assertTrue(m.contains("ranks 0 and 2 would share one GPU (node/0000:19:00.0, cuda:0 and cuda:0)"), m);
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
