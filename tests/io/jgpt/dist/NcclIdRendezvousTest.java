package io.jgpt.dist;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.JgptException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** The TCP hand-over of NCCL's id: every rank gets rank 0's bytes, whoever starts first; absent peers time out. */
class NcclIdRendezvousTest {

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void everyRankReceivesRankZerosIdEvenWhenItConnectsFirst() throws Exception {
        byte[] id = new byte[128];
        new SplittableRandom(7).nextBytes(id);
        int port = freePort(), ranks = 4;
        ExecutorService pool = Executors.newFixedThreadPool(ranks);
        try {
            List<Future<byte[]>> fetched = new ArrayList<>();
            for (int r = 1; r < ranks; r++) {
                fetched.add(pool.submit(() -> NcclIdRendezvous.fetch("127.0.0.1", port, 128, Duration.ofSeconds(20))));
            }
            Thread.sleep(300); // the other ranks are already retrying when rank 0 starts listening
            pool.submit(() -> NcclIdRendezvous.serve(id, "127.0.0.1", port, ranks, Duration.ofSeconds(20))).get();
            for (Future<byte[]> f : fetched) assertArrayEquals(id, f.get());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void missingRanksTimeOutWithTheAddressNamed() throws Exception {
        int port = freePort();
        long start = System.nanoTime();
        JgptException e = assertThrows(JgptException.class,
                () -> NcclIdRendezvous.serve(new byte[128], "127.0.0.1", port, 2, Duration.ofMillis(500)));
        assertTrue(e.getMessage().contains("127.0.0.1:" + port) && e.getMessage().contains("0 of 1"), e.getMessage());
        JgptException f = assertThrows(JgptException.class,
                () -> NcclIdRendezvous.fetch("127.0.0.1", port, 128, Duration.ofMillis(500)));
        assertTrue(f.getMessage().contains("MASTER_ADDR"), f.getMessage());
        assertTrue((System.nanoTime() - start) / 1e9 < 10, "timeouts are bounded");
    }
}
