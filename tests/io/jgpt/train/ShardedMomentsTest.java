package io.jgpt.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.cpu.CpuOps;
import io.jgpt.dist.Communicator;
import io.jgpt.dist.ThreadRanks;
import io.jgpt.model.GPTConfig;
import io.jgpt.model.GPTModel;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * ZeRO-1 holds moments for each rank's shard only: the ranks' shards tile the arena (together exactly its
 * size, each at most its share plus one chunk's rounding per bucket), the optimizer holds none, and
 * gathering for a checkpoint gives rank 0 exactly the whole moments the shards were taken from (null on the
 * others). Ranks are threads here ({@link ThreadRanks}); the MPI runs of DataParallelTrainingTest check
 * the training bits.
 */
class ShardedMomentsTest {

    private static final GPTConfig CFG = new GPTConfig(101, 8, 16, 2, 4, 0f, false, false);

    private record Seen(long shard, AdamW.Moments gathered) {}

    @Test
    void eachRankHoldsItsShardAndRankZeroGathersTheWhole() throws Exception {
        int ranks = 3;
        ThreadRanks world = new ThreadRanks(ranks);
        long size;
        try (CpuOps ops = new CpuOps(1)) {
            size = new GPTModel(CFG, ops, 1).parameterArena().size();
        }
        SplittableRandom rnd = new SplittableRandom(7);
        float[] m = new float[Math.toIntExact(size)], v = new float[m.length];
        for (int i = 0; i < m.length; i++) {
            m[i] = (float) rnd.nextDouble(-1, 1);
            v[i] = (float) rnd.nextDouble();
        }
        AdamW.Moments whole = new AdamW.Moments(m, v);
        ExecutorService pool = Executors.newFixedThreadPool(ranks);
        try {
            List<Future<Seen>> seen = new ArrayList<>();
            for (Communicator c : world.all()) {
                seen.add(pool.submit(() -> {
                    try (CpuOps ops = new CpuOps(1)) {
                        GPTModel model = new GPTModel(CFG, ops, 1);
                        AdamW adamw = AdamW.withoutMoments(model.parameterArena(), AdamW.Settings.book(0.1f));
                        assertFalse(adamw.holdsMoments());
                        assertThrows(IllegalStateException.class, adamw::downloadMoments);
                        // Small buckets, so that several chunks of several buckets make up each shard.
                        try (DataParallel dp = new DataParallel(c, model.parameterArena(), 2048)) {
                            dp.shardOptimizer(adamw, whole);
                            return new Seen(dp.shardLength(), dp.gatherMoments(adamw));
                        }
                    }
                }));
            }
            long total = 0;
            for (int r = 0; r < ranks; r++) {
                Seen s = seen.get(r).get();
                total += s.shard();
                assertTrue(s.shard() <= Math.ceilDiv(size, ranks) + 2048 / Float.BYTES, "rank " + r + " holds " + s.shard() + " of " + size);
                if (r == 0) {
                    assertArrayEquals(m, s.gathered().first());
                    assertArrayEquals(v, s.gathered().second());
                } else {
                    assertNull(s.gathered(), "only rank 0 receives the whole moments");
                }
            }
            assertEquals(size, total, "the shards tile the arena");
        } finally {
            pool.shutdownNow();
        }
    }
}
