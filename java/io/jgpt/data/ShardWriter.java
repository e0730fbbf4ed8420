package io.jgpt.data;

import io.jgpt.io.AtomicWrite;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

/** Writes token ids in llm.c's shard format (see {@link TokenShard}), atomically. */
public final class ShardWriter {
    private ShardWriter() {}

    public static void write(Path path, TokenSource tokens) {
        // Checked before anything touches the disk, so a bad id leaves no half-written file behind.
        tokens.validate(1 << 16);
        AtomicWrite.write(path, channel -> {
            ByteBuffer header = ByteBuffer.allocate(TokenShard.HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            header.putInt(TokenShard.MAGIC).putInt(TokenShard.VERSION).putInt(tokens.length()).rewind();
            while (header.hasRemaining()) {
                channel.write(header);
            }
            int[] chunk = new int[Math.min(tokens.length(), 1 << 16)];
            ByteBuffer bytes = ByteBuffer.allocate(2 * chunk.length).order(ByteOrder.LITTLE_ENDIAN);
            for (int start = 0; start < tokens.length(); start += chunk.length) {
                int count = Math.min(chunk.length, tokens.length() - start);
                tokens.copy(start, chunk, 0, count);
                bytes.clear();
                for (int i = 0; i < count; i++) {
                    bytes.putShort((short) chunk[i]);
                }
                bytes.flip();
                while (bytes.hasRemaining()) {
                    channel.write(bytes);
                }
            }
        });
    }

    public static void write(Path path, int[] tokens) {
        write(path, TokenSource.of(path.toString(), tokens));
    }
}
