package io.jgpt.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.JgptException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenShardTest {
    @TempDir
    Path dir;

    @Test
    void writesAndMapsTheLlmcLayout() throws IOException {
        Path path = dir.resolve("shard.bin");
        int[] tokens = {0, 1, 50256, 65535, 300};
        ShardWriter.write(path, tokens);
        ByteBuffer raw = ByteBuffer.wrap(Files.readAllBytes(path)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(1024 + 10, raw.capacity());
        assertEquals(20240520, raw.getInt(0));
        assertEquals(1, raw.getInt(4));
        assertEquals(5, raw.getInt(8));
        assertEquals(0, raw.getInt(12));
        assertEquals((short) 50256, raw.getShort(1024 + 4));
        try (TokenShard shard = TokenShard.open(path)) {
            assertEquals(5, shard.length());
            assertArrayEquals(tokens, shard.range(0, 5));
            assertEquals(65535, shard.get(3));
            assertArrayEquals(new int[] {50256, 65535}, shard.slice(2, 4).range(0, 2));
            JgptException e = assertThrows(JgptException.class, () -> shard.validate(50257));
            assertTrue(e.getMessage().contains("65535") && e.getMessage().contains("position 3")
                    && e.getMessage().contains("shard.bin"), e.getMessage());
        }
        try (TokenShard shard = TokenShard.open(path)) {
            shard.slice(0, 3).validate(50257);
        }
        assertEquals(1, Files.list(dir).count(), "no temporary file is left behind");
    }

    @Test
    void writerRejectsIdsThatDoNotFitSixteenBits() {
        Path path = dir.resolve("bad.bin");
        JgptException e = assertThrows(JgptException.class, () -> ShardWriter.write(path, new int[] {1, 70000}));
        assertTrue(e.getMessage().contains("70000") && e.getMessage().contains("position 1"), e.getMessage());
        assertTrue(Files.notExists(path));
    }

    @Test
    void headerErrorsNameTheFileAndTheProblem() throws IOException {
        Path path = dir.resolve("s.bin");
        ShardWriter.write(path, new int[] {1, 2, 3});
        byte[] good = Files.readAllBytes(path);

        assertMessage(withInt(good, 0, 123), "magic 123");
        assertMessage(withInt(good, 4, 2), "version 2");
        assertMessage(withInt(good, 8, 4), "4 tokens");
        assertMessage(withInt(good, 8, -1), "-1 tokens");
        byte[] truncated = Arrays.copyOf(good, good.length - 1);
        assertMessage(truncated, "1029 bytes");
        assertMessage(new byte[10], "too short");
        JgptException e = assertThrows(JgptException.class, () -> TokenShard.open(dir.resolve("missing.bin")));
        assertTrue(e.getMessage().contains("missing.bin"), e.getMessage());
    }

    private void assertMessage(byte[] bytes, String expected) throws IOException {
        Path path = dir.resolve("broken.bin");
        Files.write(path, bytes);
        JgptException e = assertThrows(JgptException.class, () -> TokenShard.open(path));
        assertTrue(e.getMessage().contains(expected) && e.getMessage().contains("broken.bin"), e.getMessage());
    }

    static byte[] withInt(byte[] bytes, int offset, int value) {
        byte[] copy = bytes.clone();
        ByteBuffer.wrap(copy).order(ByteOrder.LITTLE_ENDIAN).putInt(offset, value);
        return copy;
    }
}
