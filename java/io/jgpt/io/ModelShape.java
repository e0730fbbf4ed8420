package io.jgpt.io;

import io.jgpt.JgptException;

/**
 * The hyperparameters a GPT-2 checkpoint fixes, in the order of the model's GPTConfig. {@code qkvBias}: whether
 * the fused query/key/value projection has a bias (GPT-2 yes, the book's from-scratch model no); {@code tiedHead}:
 * whether the output head reuses the token embedding.
 */
public record ModelShape(int vocabSize, int contextLength, int embDim, int nHeads, int nLayers, float dropRate,
        boolean qkvBias, boolean tiedHead) {
    public ModelShape {
        if (vocabSize < 1 || contextLength < 1 || embDim < 1 || nHeads < 1 || nLayers < 1) {
            throw new JgptException("model sizes must be positive: vocab " + vocabSize + ", context " + contextLength
                    + ", embedding " + embDim + ", heads " + nHeads + ", layers " + nLayers);
        }
        if (embDim % nHeads != 0) {
            throw new JgptException("embedding size " + embDim + " is not divisible by the " + nHeads + " heads");
        }
        if (!(dropRate >= 0 && dropRate < 1)) {
            throw new JgptException("drop rate must be in [0, 1), got " + dropRate);
        }
    }

    public ModelShape withQkvBias(boolean value) {
        return new ModelShape(vocabSize, contextLength, embDim, nHeads, nLayers, dropRate, value, tiedHead);
    }

    public ModelShape withTiedHead(boolean value) {
        return new ModelShape(vocabSize, contextLength, embDim, nHeads, nLayers, dropRate, qkvBias, value);
    }
}
