package io.jgpt.generate;

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

    @Override
    void close();
}
