package io.jgpt.model;

import io.jgpt.JgptException;
import java.util.List;
import java.util.Locale;

/**
 * The shape of a GPT-2 model, as chapter 4 of the book configures it.
 *
 * @param vocabSize     number of token ids (50257 for GPT-2's BPE)
 * @param contextLength maximum sequence length (positions in the position embedding)
 * @param embDim        channels per token
 * @param nHeads        attention heads; must divide embDim
 * @param nLayers       transformer blocks
 * @param dropRate      dropout on embeddings, attention weights and residual branches
 * @param qkvBias       whether the fused query/key/value projection has a bias
 * @param tiedHead      whether the output head reuses the token embedding (GPT-2) or has its own weight (the book)
 */
public record GPTConfig(int vocabSize, int contextLength, int embDim, int nHeads, int nLayers, float dropRate,
                        boolean qkvBias, boolean tiedHead) {

    public GPTConfig {
        if (vocabSize <= 0 || contextLength <= 0 || embDim <= 0 || nHeads <= 0 || nLayers <= 0) {
            throw new JgptException("model sizes must be positive: vocab " + vocabSize + ", context " + contextLength
                    + ", embedding " + embDim + ", heads " + nHeads + ", layers " + nLayers);
        }
        if (embDim % nHeads != 0) {
            throw new JgptException("n_embd " + embDim + " is not divisible by n_head " + nHeads);
        }
        if (!(dropRate >= 0f && dropRate < 1f)) {
            throw new JgptException("dropout must be in [0, 1), got " + dropRate);
        }
    }

    public static final List<String> PRESETS = List.of("gpt2-small", "gpt2-medium", "gpt2-large", "gpt2-xl", "book-124m");

    /** The published GPT-2 shapes (context 1024, qkv bias, tied head, dropout 0.1) and the book's training config. */
    public static GPTConfig preset(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "gpt2-small", "gpt2" -> new GPTConfig(50257, 1024, 768, 12, 12, 0.1f, true, true);
            case "gpt2-medium" -> new GPTConfig(50257, 1024, 1024, 16, 24, 0.1f, true, true);
            case "gpt2-large" -> new GPTConfig(50257, 1024, 1280, 20, 36, 0.1f, true, true);
            case "gpt2-xl" -> new GPTConfig(50257, 1024, 1600, 25, 48, 0.1f, true, true);
            case "book-124m" -> new GPTConfig(50257, 256, 768, 12, 12, 0.1f, false, false);
            default -> throw new JgptException("unknown model preset '" + name + "' (known: " + String.join(", ", PRESETS) + ")");
        };
    }

    public int headSize() {
        return embDim / nHeads;
    }

    public GPTConfig withContextLength(int t) {
        return new GPTConfig(vocabSize, t, embDim, nHeads, nLayers, dropRate, qkvBias, tiedHead);
    }

    public GPTConfig withDropRate(float p) {
        return new GPTConfig(vocabSize, contextLength, embDim, nHeads, nLayers, p, qkvBias, tiedHead);
    }

    public GPTConfig withQkvBias(boolean value) {
        return new GPTConfig(vocabSize, contextLength, embDim, nHeads, nLayers, dropRate, value, tiedHead);
    }

    public GPTConfig withTiedHead(boolean value) {
        return new GPTConfig(vocabSize, contextLength, embDim, nHeads, nLayers, dropRate, qkvBias, value);
    }

    public GPTConfig withShape(int layers, int heads, int emb, int context, int vocab) {
        return new GPTConfig(vocab, context, emb, heads, layers, dropRate, qkvBias, tiedHead);
    }

    /** Trainable parameter count, computed from the shapes (checked against the book in tests). */
    public long parameterCount() {
        long c = embDim;
        long perBlock = 2 * (2 * c)                       // two LayerNorms
                + c * 3 * c + (qkvBias ? 3 * c : 0)       // fused qkv
                + c * c + c                               // attention output projection
                + c * 4 * c + 4 * c + 4 * c * c + c;      // feed-forward
        long total = (long) vocabSize * c + (long) contextLength * c + nLayers * perBlock + 2 * c;
        return tiedHead ? total : total + (long) vocabSize * c;
    }
}
