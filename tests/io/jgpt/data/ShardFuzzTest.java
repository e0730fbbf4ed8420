package io.jgpt.data;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.jgpt.Fuzz;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Damaged token shards either load (and read through) or fail with JgptException. */
class ShardFuzzTest {
    private static final long SEED = 20240326;

    @TempDir
    Path dir;

    @Test
    void mutatedShards() throws IOException {
        SplittableRandom random = new SplittableRandom(SEED);
        int[] tokens = new int[300];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = random.nextInt(50257);
        }
        Path valid = dir.resolve("valid.bin");
        ShardWriter.write(valid, tokens);
        byte[] good = Files.readAllBytes(valid);
        Path path = dir.resolve("fuzz.bin");
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            for (int i = 0; i < 3000; i++) {
                StringBuilder how = new StringBuilder();
                byte[] bytes = Fuzz.mutate(good, random, how);
                Files.write(path, bytes);
                long seed = i;
                Fuzz.check("shard seed " + SEED + " case " + i + " (" + how + ")", bytes.length, () -> {
                    try (TokenShard shard = TokenShard.open(path)) {
                        shard.validate(50257);
                        new BatchLoader(new SlidingWindowDataset(shard, 8, 3), 4, true, true, seed).next();
                    }
                });
            }
        });
    }
}
