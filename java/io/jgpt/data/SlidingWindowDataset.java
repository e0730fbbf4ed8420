package io.jgpt.data;

import io.jgpt.JgptException;

/**
 * The book's GPTDatasetV1: window {@code w} starts at {@code i = w * stride}; its input is tokens
 * {@code [i, i + T)} and its target the same shifted by one, {@code [i + 1, i + T + 1)}. Windows start at every
 * {@code i < length - T}, exactly {@code range(0, len(token_ids) - max_length, stride)}.
 */
public final class SlidingWindowDataset {
    private final TokenSource tokens;
    private final int contextLength;
    private final int stride;
    private final int size;

    /** Stride equal to the context length: windows that do not overlap, the book's default for training. */
    public SlidingWindowDataset(TokenSource tokens, int contextLength) {
        this(tokens, contextLength, contextLength);
    }

    public SlidingWindowDataset(TokenSource tokens, int contextLength, int stride) {
        if (contextLength < 1 || stride < 1) {
            throw new JgptException("context length and stride must be positive, got " + contextLength + " and "
                    + stride);
        }
        long needed = contextLength + 1L;
        if (tokens.length() < needed) {
            throw new JgptException(tokens.name() + " has " + tokens.length() + " tokens; a window of context length "
                    + contextLength + " needs at least " + needed);
        }
        this.tokens = tokens;
        this.contextLength = contextLength;
        this.stride = stride;
        this.size = (tokens.length() - contextLength - 1) / stride + 1;
    }

    public TokenSource tokens() {
        return tokens;
    }

    public int contextLength() {
        return contextLength;
    }

    public int stride() {
        return stride;
    }

    /** Number of windows. */
    public int size() {
        return size;
    }

    public int start(int window) {
        if (window < 0 || window >= size) {
            throw new IndexOutOfBoundsException("window " + window + " of " + size);
        }
        return window * stride;
    }

    /** Writes window {@code w}'s input and target ids at {@code offset} of the two arrays (T ids each). */
    public void fill(int window, int[] inputs, int[] targets, int offset) {
        int[] span = new int[contextLength + 1];
        tokens.copy(start(window), span, 0, contextLength + 1);
        System.arraycopy(span, 0, inputs, offset, contextLength);
        System.arraycopy(span, 1, targets, offset, contextLength);
    }
}
