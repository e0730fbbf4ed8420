package io.jgpt.cli;

import io.jgpt.model.GPTConfig;
import picocli.CommandLine.Option;

/** The model preset and the architecture overrides shared by bench and train. */
public final class ModelOptions {
    @Option(names = "--model", defaultValue = "gpt2-small", description = "Preset (${COMPLETION-CANDIDATES}) or, where a command loads weights, a checkpoint directory, run directory or llm.c .bin; default ${DEFAULT-VALUE}.",
            completionCandidates = Presets.class)
    String preset;

    @Option(names = "--n-layer", description = "Override the number of transformer blocks.")
    Integer nLayer;

    @Option(names = "--n-head", description = "Override the number of attention heads.")
    Integer nHead;

    @Option(names = "--n-embd", description = "Override the embedding width.")
    Integer nEmbd;

    @Option(names = "--context", description = "Context length (sequence length trained on).")
    Integer context;

    @Option(names = "--vocab", description = "Override the vocabulary size.")
    Integer vocab;

    @Option(names = "--dropout", description = "Override the dropout rate.")
    Float dropout;

    static final class Presets extends java.util.ArrayList<String> {
        Presets() {
            super(GPTConfig.PRESETS);
        }
    }

    /** The preset with every given override applied (validated by GPTConfig). */
    public GPTConfig config() {
        return applyOverrides(GPTConfig.preset(preset));
    }

    /** A config with the architecture flags that were given applied. */
    public GPTConfig applyOverrides(GPTConfig base) {
        GPTConfig c = base.withShape(
                nLayer != null ? nLayer : base.nLayers(),
                nHead != null ? nHead : base.nHeads(),
                nEmbd != null ? nEmbd : base.embDim(),
                context != null ? context : base.contextLength(),
                vocab != null ? vocab : base.vocabSize());
        return dropout != null ? c.withDropRate(dropout) : c;
    }
}
