package io.jgpt.generate;

import io.jgpt.model.DropoutPlan;
import io.jgpt.model.GPTModel;
import io.jgpt.model.KVCache;
import io.jgpt.ops.RecordedWork;
import io.jgpt.tensor.Tensor;
import java.util.Arrays;

/**
 * {@link Decoding} over a {@link GPTModel} on any backend:
 * <ul>
 *   <li>{@link #cached}: one {@link KVCache} row per sequence. A prompt is prefilled into its own row; a step
 *       runs the newest token of every sequence together, as one batch at each sequence's own position. On a
 *       backend with graphs (CUDA) the step is recorded once, after one eager step, and replayed from then on:
 *       per token the host writes the tokens and positions, launches one graph and reads the logits back
 *       (or, for greedy decoding, one token id per sequence: {@link #stepGreedy}), instead of issuing every
 *       kernel of every layer again.</li>
 *   <li>{@link #fullWindow}: the book's loop, the whole (last context tokens of the) history through the
 *       training forward pass every step, without dropout. It never fills up: the window slides. This is
 *       the reference the cached modes are tested against.</li>
 * </ul>
 */
public final class ModelDecoding implements Decoding {
    private final GPTModel model;
    private final KVCache cache;      // null in full-window mode
    private final KVCache[] rows;     // each sequence's part of the cache, for its prefill
    private final RecordedWork steps; // null where steps run eagerly
    /** The step record's allocation an eager step has run with: the next step of it may be recorded. */
    private long eagerFor = -1;
    private Tensor stepLogits;
    private final Tensor greedy;      // I32 (sequences): each sequence's argmax after a step
    private boolean replayed;
    private final int[][] history;    // full-window mode: each sequence's tokens so far
    private final int[] windowLengths;

    private ModelDecoding(GPTModel model, int sequences, boolean cached, boolean graphs) {
        if (sequences < 1) throw new IllegalArgumentException("at least one sequence is needed, got " + sequences);
        this.model = model;
        this.cache = cached ? new KVCache(model, sequences) : null;
        this.rows = new KVCache[cached ? sequences : 0];
        for (int s = 0; s < rows.length; s++) rows[s] = cache.sequence(s);
        this.steps = cached && graphs ? new RecordedWork(model.ops(), "a decoding step") : null;
        this.greedy = cached ? model.ops().zeros(Tensor.DType.I32, sequences) : null;
        this.history = new int[sequences][0];
        this.windowLengths = new int[sequences];
    }

    /** The KV-cache decoding, its steps replayed from a recorded graph where the backend has graphs. */
    public static ModelDecoding cached(GPTModel model, int sequences) {
        return cached(model, sequences, true);
    }

    /** @param graphs record and replay steps where the backend can; false issues every step's kernels */
    public static ModelDecoding cached(GPTModel model, int sequences, boolean graphs) {
        return new ModelDecoding(model, sequences, true, graphs);
    }

    public static ModelDecoding fullWindow(GPTModel model, int sequences) {
        return new ModelDecoding(model, sequences, false, false);
    }

    @Override
    public int vocabSize() {
        return model.config().vocabSize();
    }

    @Override
    public int capacity() {
        return cache != null ? model.config().contextLength() : Integer.MAX_VALUE;
    }

    @Override
    public int sequences() {
        return history.length;
    }

    @Override
    public int length(int seq) {
        return cache != null ? cache.length(seq) : windowLengths[seq];
    }

    @Override
    public void reset(int seq) {
        if (cache != null) {
            cache.clear(seq);
        } else {
            history[seq] = new int[0];
            windowLengths[seq] = 0;
        }
    }

    @Override
    public float[] prefill(int seq, int[] ids) {
        if (ids.length == 0) throw new IllegalArgumentException("prefill needs at least one token");
        if (cache != null) return model.ops().download(model.forwardCached(ids, 1, ids.length, rows[seq]));
        int[] h = Arrays.copyOf(history[seq], history[seq].length + ids.length);
        System.arraycopy(ids, 0, h, history[seq].length, ids.length);
        history[seq] = h;
        windowLengths[seq] += ids.length;
        int context = model.config().contextLength();
        int[] window = Arrays.copyOfRange(h, Math.max(0, h.length - context), h.length);
        float[] all = model.ops().download(model.forward(window, 1, window.length, DropoutPlan.eval()));
        return Arrays.copyOfRange(all, all.length - vocabSize(), all.length);
    }

    @Override
    public float[][] step(int[] seqs, int[] ids) {
        float[][] out = new float[seqs.length][];
        if (cache == null) {
            for (int i = 0; i < seqs.length; i++) out[i] = prefill(seqs[i], new int[] {ids[i]});
            return out;
        }
        runStep(seqs, ids);
        float[] all = model.ops().download(stepLogits);
        int v = vocabSize();
        for (int i = 0; i < seqs.length; i++) out[i] = Arrays.copyOfRange(all, seqs[i] * v, (seqs[i] + 1) * v);
        return out;
    }

    /** The step's tokens are chosen on the backend; only one id per sequence comes back. */
    @Override
    public int[] stepGreedy(int[] seqs, int[] ids) {
        if (cache == null) return Decoding.super.stepGreedy(seqs, ids);
        runStep(seqs, ids);
        int[] all = new int[cache.batch()];
        model.ops().read(greedy, all);
        int[] out = new int[seqs.length];
        for (int i = 0; i < seqs.length; i++) out[i] = all[seqs[i]];
        return out;
    }

    /** Stages the step, then replays its recorded graph, or runs it eagerly (recording it next time). */
    private void runStep(int[] seqs, int[] ids) {
        model.stageStep(seqs, ids, cache);
        long shape = model.stepAllocations(cache.batch());
        // The first step of a record runs eagerly: it lets the backend's libraries set themselves up, which
        // may not happen inside a capture. A record of another allocation is recorded again.
        Runnable work = () -> {
            stepLogits = model.runStagedStep(cache);
            model.ops().argmaxRows(greedy, stepLogits);
        };
        replayed = steps != null && shape == eagerFor && steps.replay(shape, work);
        if (!replayed) {
            if (steps != null) steps.close();
            work.run();
            eagerFor = shape;
        }
    }

    /** Whether the last step was a replay of a recorded graph. */
    public boolean replaying() {
        return replayed;
    }

    /** Frees the cache and the recorded step; the model stays open. */
    @Override
    public void close() {
        if (steps != null) steps.close();
        if (cache != null) cache.close();
        if (greedy != null) greedy.close();
    }
}
