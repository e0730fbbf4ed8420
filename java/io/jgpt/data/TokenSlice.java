package io.jgpt.data;

/** Tokens {@code [from, to)} of another source, without copying: how a shard is split into train and val. */
public record TokenSlice(TokenSource base, int from, int to) implements TokenSource {
    public TokenSlice {
        if (from < 0 || from > to || to > base.length()) {
            throw new IndexOutOfBoundsException("slice [" + from + ", " + to + ") of " + base.name() + " (length "
                    + base.length() + ")");
        }
    }

    @Override
    public String name() {
        return base.name() + "[" + from + ":" + to + "]";
    }

    @Override
    public int length() {
        return to - from;
    }

    @Override
    public int get(int position) {
        if (position < 0 || position >= length()) {
            throw new IndexOutOfBoundsException("token " + position + " of " + name());
        }
        return base.get(from + position);
    }

    @Override
    public void copy(int start, int[] dst, int dstOffset, int count) {
        checkRange(start, count);
        base.copy(from + start, dst, dstOffset, count);
    }
}
