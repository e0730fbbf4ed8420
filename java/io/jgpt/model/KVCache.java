package io.jgpt.model;

import io.jgpt.ops.Ops;
import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;

/**
 * The keys and values every attention layer has produced so far for a batch of sequences, so that each
 * generated token runs through the model alone ({@link GPTModel#forwardCached}). Per block it holds k and v
 * tensors (B,NH,context,hs) on the model's backend; sequence b is filled for positions [0, {@link #length}(b)),
 * and sequences may be at different lengths (prompts prefilled one by one, then decoded together).
 *
 * <p>{@link #sequence} is one sequence's part of a cache as a cache of batch 1: a view sharing the tensors
 * and the length, for prefilling that sequence alone. A cache belongs to the model (and backend) it was made
 * for; it is the caller's to close (closing a view frees nothing).
 */
public final class KVCache implements AutoCloseable {
    private final Ops ops;
    private final int batch;
    private final int capacity;
    final Tensor[] keys;
    final Tensor[] values;
    /** Each sequence's filled positions; a view shares its cache's array from {@link #first} on. */
    private final int[] lengths;
    private final int first;
    private final boolean view;

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
        this.lengths = new int[batch];
        this.first = 0;
        this.view = false;
    }

    private KVCache(KVCache of, int seq) {
        this.ops = of.ops;
        this.batch = 1;
        this.capacity = of.capacity;
        keys = new Tensor[of.keys.length];
        values = new Tensor[of.values.length];
        for (int l = 0; l < keys.length; l++) {
            keys[l] = sequenceOf(of.keys[l], seq);
            values[l] = sequenceOf(of.values[l], seq);
        }
        this.lengths = of.lengths;
        this.first = of.first + seq;
        this.view = true;
    }

    private Tensor sequenceOf(Tensor t, int seq) {
        int[] s = t.shape();
        return ops.view(t, (long) seq * s[1] * s[2] * s[3], 1, s[1], s[2], s[3]);
    }

    /** Sequence {@code seq} of this cache as a cache of batch 1 sharing its tensors and length. */
    public KVCache sequence(int seq) {
        if (seq < 0 || seq >= batch) throw new IllegalArgumentException("sequence " + seq + " of a cache of " + batch);
        return new KVCache(this, seq);
    }

    public int batch() {
        return batch;
    }

    /** Positions the cache can hold: the model's context length. */
    public int capacity() {
        return capacity;
    }

    /** Positions sequence {@code seq} has filled so far; its next token goes to this position. */
    public int length(int seq) {
        return lengths[first + seq];
    }

    /** Forgets every position of every sequence (the tensors are kept and overwritten by the next prefill). */
    public void clear() {
        for (int s = 0; s < batch; s++) clear(s);
    }

    /** Forgets sequence {@code seq}'s positions. */
    public void clear(int seq) {
        lengths[first + seq] = 0;
    }

    Ops ops() {
        return ops;
    }

    void advance(int seq, int positions) {
        lengths[first + seq] += positions;
    }

    @Override
    public void close() {
        if (view) return;
        for (int l = 0; l < keys.length; l++) {
            keys[l].close();
            values[l].close();
        }
    }
}
