package io.jgpt.generate;

import io.jgpt.ops.Argmax;

/**
 * What the generation loop runs on: a fixed number of sequences, each with its own key/value history, fed
 * tokens and answering with the logits of the next position. Implementations: the CPU {@link
 * io.jgpt.decode.Decoder}, and {@link ModelDecoding} over a {@link io.jgpt.model.GPTModel} on any backend
 * (with its KV cache, or the book's full-window loop).
 */
public interface Decoding extends AutoCloseable {

    int vocabSize();

    /** Positions a sequence can hold before {@link Generator} must refill it. */
    int capacity();

    /** How many sequences this decoding holds. */
    int sequences();

    /** Positions sequence {@code seq} holds so far. */
    int length(int seq);

    /** Forgets sequence {@code seq}'s history. */
    void reset(int seq);

    /** Appends ids (at least one) to sequence {@code seq}; returns the logits after the last one (vocabSize). */
    float[] prefill(int seq, int[] ids);

    /** Appends ids[i] to sequence seqs[i] (distinct sequences); returns each one's next logits. */
    float[][] step(int[] seqs, int[] ids);

    /**
     * {@link #step}, answering with each sequence's greedy next token ({@link Argmax} of its logits) instead
     * of the logits: a backend that holds the logits elsewhere (a GPU) chooses there and sends back one id per
     * sequence.
     */
    default int[] stepGreedy(int[] seqs, int[] ids) {
        float[][] logits = step(seqs, ids);
        int[] out = new int[logits.length];
        for (int i = 0; i < out.length; i++) out[i] = Argmax.of(logits[i], 0, logits[i].length);
        return out;
    }

    @Override
    void close();
}
