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

    /**
     * llm.c's count (train_gpt2.cu, gpt2_estimate_mfu), so MFU compares across projects: 6 FLOPs per
     * parameter (all of them) per token plus 6 * layers * width * context for attention (half of the PaLM
     * term: the causal mask skips half the scores). llm.c pads the vocabulary to 50,304; jgpt counts its real
     * 50,257 (0.03 % fewer FLOPs for GPT-2 small).
     */
    public static double llmcPerToken(GPTConfig c, int time) {
        return 6.0 * c.parameterCount() + 6.0 * c.nLayers() * c.embDim() * time;
    }
}
