package io.jgpt.data;

import io.jgpt.JgptException;

/** A read-only sequence of token ids: an in-memory array, a memory-mapped shard, or a slice of either. */
public interface TokenSource {
    /** What the tokens came from (a file name, "text"), used in error messages. */
    String name();

    int length();

    int get(int position);

    /** Copies tokens {@code [from, from + count)} into {@code dst} starting at {@code dstOffset}. */
    default void copy(int from, int[] dst, int dstOffset, int count) {
        checkRange(from, count);
        for (int i = 0; i < count; i++) {
            dst[dstOffset + i] = get(from + i);
        }
    }

    default int[] range(int from, int to) {
        int[] out = new int[to - from];
        copy(from, out, 0, to - from);
        return out;
    }

    default TokenSource slice(int from, int to) {
        return new TokenSlice(this, from, to);
    }

    /** Fails on the first id outside {@code [0, vocabSize)}, naming it and its position. */
    default void validate(int vocabSize) {
        int[] chunk = new int[Math.min(length(), 1 << 16)];
        for (int start = 0; start < length(); start += chunk.length) {
            int count = Math.min(chunk.length, length() - start);
            copy(start, chunk, 0, count);
            for (int i = 0; i < count; i++) {
                if (chunk[i] < 0 || chunk[i] >= vocabSize) {
                    throw new JgptException(name() + ": token id " + chunk[i] + " at position " + (start + i)
                            + " is outside the vocabulary [0, " + vocabSize + ")");
                }
            }
        }
    }

    default void checkRange(int from, int count) {
        if (from < 0 || count < 0 || from > length() - count) {
            throw new IndexOutOfBoundsException("tokens [" + from + ", " + ((long) from + count) + ") of " + name()
                    + " (length " + length() + ")");
        }
    }

    static TokenSource of(String name, int[] ids) {
        return new ArrayTokenSource(name, ids);
    }
}
