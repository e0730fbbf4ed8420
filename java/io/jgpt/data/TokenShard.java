package io.jgpt.data;

import io.jgpt.JgptException;
import io.jgpt.io.MappedFile;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * An llm.c token shard ({@code *.bin} from its data scripts), memory-mapped: a header of 256 little-endian
 * int32 (magic, version, token count, zeros) and then the tokens as little-endian uint16.
 */
public final class TokenShard implements TokenSource, AutoCloseable {
    public static final int MAGIC = 20240520;
    public static final int VERSION = 1;
    public static final int HEADER_INTS = 256;
    public static final int HEADER_BYTES = HEADER_INTS * 4;

    private final MappedFile file;
    private final int length;

    private TokenShard(MappedFile file, int length) {
        this.file = file;
        this.length = length;
    }

    /** Maps the shard after checking its header against the file size, so a damaged file fails here. */
    public static TokenShard open(Path path) {
        MappedFile file = MappedFile.open(path);
        try {
            int[] header = file.intHeader(HEADER_INTS, "token shard");
            if (header[0] != MAGIC) {
                throw new JgptException(path + ": not an llm.c token shard (magic " + header[0] + ", expected "
                        + MAGIC + ")");
            }
            if (header[1] != VERSION) {
                throw new JgptException(path + ": unsupported token shard version " + header[1] + " (expected "
                        + VERSION + ")");
            }
            int count = header[2];
            long expected = HEADER_BYTES + 2L * count;
            if (count < 0 || expected != file.size()) {
                throw new JgptException(path + ": header says " + count + " tokens, so " + expected
                        + " bytes, but the file has " + file.size() + " bytes");
            }
            return new TokenShard(file, count);
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    @Override
    public String name() {
        return file.path().toString();
    }

    @Override
    public int length() {
        return length;
    }

    @Override
    public int get(int position) {
        if (position < 0 || position >= length) {
            throw new IndexOutOfBoundsException("token " + position + " of " + name() + " (length " + length + ")");
        }
        return Short.toUnsignedInt(file.segment().get(MappedFile.SHORT_LE, HEADER_BYTES + 2L * position));
    }

    @Override
    public void copy(int from, int[] dst, int dstOffset, int count) {
        checkRange(from, count);
        short[] raw = new short[Math.min(count, 1 << 16)];
        for (int done = 0; done < count; done += raw.length) {
            int n = Math.min(raw.length, count - done);
            MemorySegment.copy(file.segment(), MappedFile.SHORT_LE, HEADER_BYTES + 2L * (from + done), raw, 0, n);
            for (int i = 0; i < n; i++) {
                dst[dstOffset + done + i] = Short.toUnsignedInt(raw[i]);
            }
        }
    }

    @Override
    public void close() {
        file.close();
    }
}
