package io.jgpt.model;

import io.jgpt.ops.Ops;
import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;

/**
 * The keys and values every attention layer has produced so far for a batch of sequences, so that each
 * generated token runs through the model alone ({@link GPTModel#forwardCached}). Per block it holds k and v
 * tensors (B,NH,context,hs) on the model's backend, filled for positions [0, {@link #length()}).
 *
 * <p>A cache belongs to the model (and backend) it was made for; it is the caller's to close.
 */
public final class KVCache implements AutoCloseable {
    private final Ops ops;
    private final int batch;
    private final int capacity;
    final Tensor[] keys;
    final Tensor[] values;
    private int length;

    public KVCache(GPTModel model, int batch) {
        if (batch <= 0) throw new IllegalArgumentException("cache batch must be positive, got " + batch);
        GPTConfig c = model.config();
        this.ops = model.ops();
        this.batch = batch;
        this.capacity = c.contextLength();
        keys = new Tensor[c.nLayers()];
        values = new Tensor[c.nLayers()];
        for (int l = 0; l < c.nLayers(); l++) {
            keys[l] = ops.zeros(DType.F32, batch, c.nHeads(), capacity, c.headSize());
            values[l] = ops.zeros(DType.F32, batch, c.nHeads(), capacity, c.headSize());
        }
    }

    public int batch() {
        return batch;
    }

    /** Positions the cache can hold: the model's context length. */
    public int capacity() {
        return capacity;
    }

    /** Positions filled so far; the next token goes to this position. */
    public int length() {
        return length;
    }

    /** Forgets every position (the tensors are kept and overwritten by the next prefill). */
    public void clear() {
        length = 0;
    }

    Ops ops() {
        return ops;
    }

    void advance(int positions) {
        length += positions;
    }

    @Override
    public void close() {
        for (int l = 0; l < keys.length; l++) {
            keys[l].close();
            values[l].close();
        }
    }
}
