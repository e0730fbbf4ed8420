package io.jgpt.train;

import io.jgpt.model.GPTConfig;

/** Floating-point operations of one training step, for model-FLOPs utilisation (MFU). */
public final class FlopCount {
    private FlopCount() {}

    /**
     * The PaLM-paper estimate nanoGPT and llm.c use: 6 FLOPs per parameter per token (forward 2, backward 4)
     * plus attention's 12 * layers * context * width per token; position embeddings are excluded because they
     * cost no multiply-adds.
     */
    public static double perToken(GPTConfig c, int time) {
        double n = c.parameterCount() - (double) c.contextLength() * c.embDim();
        return 6 * n + 12.0 * c.nLayers() * time * c.embDim();
    }
}
