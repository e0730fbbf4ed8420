package io.jgpt.ops;

import java.util.ArrayList;
import java.util.List;

/**
 * The chunk table the arena-wide optimizer ops work through: rows of (first element, element count, weight
 * decay 0/1), at most {@link #CHUNK} elements each, in ascending order. One row is one unit of parallel work
 * (a CUDA block, a CPU task) and one partial sum of the gradient norm, so the norm is added up in the same
 * order on every run. Weight-decay groups are just the rows' flags.
 */
public final class ArenaChunks {
    private ArenaChunks() {}

    /** Elements per chunk: 256 per thread of a 256-thread block; 2,000 chunks for GPT-2 small. */
    public static final int CHUNK = 1 << 16;
    public static final int COLUMNS = 3;

    /** A run of arena elements [offset, offset + length) that share one weight-decay setting. */
    public record Span(long offset, long length, boolean decay) {}

    /** The table for these spans, each cut into chunks, as the I32 rows of a (k, 3) tensor. */
    public static int[] rows(List<Span> spans) {
        List<int[]> out = new ArrayList<>();
        long last = 0;
        for (Span s : spans) {
            if (s.offset() < last || s.length() <= 0 || s.offset() + s.length() > Integer.MAX_VALUE)
                throw new IllegalArgumentException("chunk spans must be non-empty, ascending and below 2^31: " + s);
            for (long at = s.offset(); at < s.offset() + s.length(); at += CHUNK) {
                long n = Math.min(CHUNK, s.offset() + s.length() - at);
                out.add(new int[] {(int) at, (int) n, s.decay() ? 1 : 0});
            }
            last = s.offset() + s.length();
        }
        int[] flat = new int[out.size() * COLUMNS];
        for (int i = 0; i < out.size(); i++) System.arraycopy(out.get(i), 0, flat, i * COLUMNS, COLUMNS);
        return flat;
    }
}
