package io.jgpt.io;

import io.jgpt.JgptException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A whole file mapped read-only as one memory segment. A segment has a long size, so multi-GiB checkpoints
 * (gpt2-xl is 6 GB) need no chunking, and nothing is read into the heap until a tensor is asked for.
 * Closing unmaps it; use after close is a programming error (IllegalStateException).
 */
public final class MappedFile implements AutoCloseable {
    public static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfLong LONG_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfFloat FLOAT_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final Arena arena;
    private final MemorySegment segment;

    private MappedFile(Path path, Arena arena, MemorySegment segment) {
        this.path = path;
        this.arena = arena;
        this.segment = segment;
    }

    public static MappedFile open(Path path) {
        // Shared: data loaders read from several threads.
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment segment = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
            return new MappedFile(path, arena, segment);
        } catch (IOException e) {
            arena.close();
            throw new JgptException("cannot read " + path + ": " + IoErrors.reason(e), e);
        } catch (UnsupportedOperationException e) {
            arena.close();
            throw new JgptException("cannot read " + path + ": it cannot be memory-mapped (not a regular file?)", e);
        }
    }

    public Path path() {
        return path;
    }

    public long size() {
        return segment.byteSize();
    }

    public MemorySegment segment() {
        return segment;
    }

    /**
     * The first {@code count} little-endian int32 of the file, the header layout llm.c uses for shards and
     * checkpoints; a file too short to hold them is reported with {@code what} (e.g. "llm.c checkpoint").
     */
    public int[] intHeader(int count, String what) {
        long need = 4L * count;
        if (size() < need) {
            throw new JgptException(path + ": too short for a " + what + " header: " + size() + " bytes, need "
                    + need);
        }
        int[] header = new int[count];
        MemorySegment.copy(segment, INT_LE, 0, header, 0, count);
        return header;
    }

    @Override
    public void close() {
        arena.close();
    }
}
