package io.jgpt.generate;

import io.jgpt.model.DropoutPlan;
import io.jgpt.model.GPTModel;
import io.jgpt.model.KVCache;
import java.util.Arrays;

/**
 * {@link Decoding} over a {@link GPTModel} on any backend, one sequence at a time:
 * <ul>
 *   <li>{@link #cached}: one {@link KVCache} per sequence, so each step runs only the newest token;</li>
 *   <li>{@link #fullWindow}: the book's loop, the whole (last context tokens of the) history through the
 *       training forward pass every step, without dropout. It never fills up: the window slides. This is
 *       the reference the cached modes are tested against.</li>
 * </ul>
 */
public final class ModelDecoding implements Decoding {
    private final GPTModel model;
    private final KVCache[] caches; // null in full-window mode
    private final int[][] history;  // full-window mode: each sequence's tokens so far
    private final int[] lengths;

    private ModelDecoding(GPTModel model, int sequences, boolean cached) {
        if (sequences < 1) throw new IllegalArgumentException("at least one sequence is needed, got " + sequences);
        this.model = model;
        this.caches = cached ? new KVCache[sequences] : null;
        if (cached) for (int s = 0; s < sequences; s++) caches[s] = new KVCache(model, 1);
        this.history = new int[sequences][0];
        this.lengths = new int[sequences];
    }

    public static ModelDecoding cached(GPTModel model, int sequences) {
        return new ModelDecoding(model, sequences, true);
    }

    public static ModelDecoding fullWindow(GPTModel model, int sequences) {
        return new ModelDecoding(model, sequences, false);
    }

    @Override
    public int vocabSize() {
        return model.config().vocabSize();
    }

    @Override
    public int capacity() {
        return caches != null ? model.config().contextLength() : Integer.MAX_VALUE;
    }

    @Override
    public int sequences() {
        return lengths.length;
    }

    @Override
    public int length(int seq) {
        return lengths[seq];
    }

    @Override
    public void reset(int seq) {
        lengths[seq] = 0;
        if (caches != null) caches[seq].clear();
        else history[seq] = new int[0];
    }

    @Override
    public float[] prefill(int seq, int[] ids) {
        if (ids.length == 0) throw new IllegalArgumentException("prefill needs at least one token");
        float[] logits;
        if (caches != null) {
            logits = model.ops().download(model.forwardCached(ids, 1, ids.length, caches[seq]));
        } else {
            int[] h = Arrays.copyOf(history[seq], history[seq].length + ids.length);
            System.arraycopy(ids, 0, h, history[seq].length, ids.length);
            history[seq] = h;
            int context = model.config().contextLength();
            int[] window = Arrays.copyOfRange(h, Math.max(0, h.length - context), h.length);
            float[] all = model.ops().download(model.forward(window, 1, window.length, DropoutPlan.eval()));
            logits = Arrays.copyOfRange(all, all.length - vocabSize(), all.length);
        }
        lengths[seq] += ids.length;
        return logits;
    }

    @Override
    public float[][] step(int[] seqs, int[] ids) {
        float[][] out = new float[seqs.length][];
        for (int i = 0; i < seqs.length; i++) out[i] = prefill(seqs[i], new int[] {ids[i]});
        return out;
    }

    /** Frees the caches; the model stays open. */
    @Override
    public void close() {
        if (caches != null) for (KVCache c : caches) c.close();
    }
}
