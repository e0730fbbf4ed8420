package io.jgpt.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.cpu.CpuOps;
import io.jgpt.model.GPTConfig;
import io.jgpt.model.GPTModel;
import io.jgpt.model.ParameterArena;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Buckets tile the gradient arena in reverse layer order, respect the size bound, and chunk evenly per rank. */
class GradientBucketsTest {

    @Test
    void bucketsTileTheArenaBackwardsWithinTheBound() {
        try (CpuOps ops = new CpuOps(1)) {
            GPTModel m = new GPTModel(new GPTConfig(101, 8, 16, 2, 4, 0f, false, false), ops, 1);
            ParameterArena arena = m.parameterArena();
            List<ParameterArena.Range> modules = arena.backwardBuckets();
            for (long max : new long[] {1, 700, 3000, Long.MAX_VALUE}) {
                for (int ranks : new int[] {1, 2, 3}) {
                    List<GradientBuckets.Bucket> buckets = GradientBuckets.plan(modules, max, ranks);
                    long end = arena.size();
                    int modulesSeen = 0;
                    for (GradientBuckets.Bucket b : buckets) {
                        assertEquals(end, b.to(), "buckets run backwards without gaps");
                        end = b.from();
                        modulesSeen += b.modules().size();
                        assertTrue(b.length() <= max || b.modules().size() == 1, "over the bound: " + b);
                        assertTrue(b.chunk() * ranks >= b.length() && (b.chunk() - 1) * ranks < b.length(), b.toString());
                    }
                    assertEquals(0, end);
                    assertEquals(modules.size(), modulesSeen);
                }
            }
            assertEquals(modules.size(), GradientBuckets.plan(modules, 1, 2).size(), "a bound of 1: one module each");
            assertEquals(1, GradientBuckets.plan(modules, Long.MAX_VALUE, 2).size());
            assertEquals(Set.of("lm_head", "ln_f"), GradientBuckets.plan(modules, 3000, 2).getFirst().modules(),
                    "the head and final norm finish first");
        }
    }
}
