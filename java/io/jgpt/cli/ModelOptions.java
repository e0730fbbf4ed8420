package io.jgpt.cli;

import io.jgpt.JgptException;
import io.jgpt.checkpoint.ModelSource;
import io.jgpt.model.GPTConfig;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** The model preset and the architecture flags shared by train, generate and bench. */
public final class ModelOptions {
    @Option(names = "--model", defaultValue = "gpt2-small", description = "Preset (${COMPLETION-CANDIDATES}) or, where a command loads weights, a checkpoint directory, run directory, model.safetensors or llm.c .bin; default ${DEFAULT-VALUE}.",
            completionCandidates = Presets.class)
    String preset;

    @Option(names = "--n-layer", description = "Transformer blocks of a preset (a loaded model must already have this many).")
    Integer nLayer;

    @Option(names = "--n-head", description = "Attention heads of a preset (a loaded model must already have this many).")
    Integer nHead;

    @Option(names = "--n-embd", description = "Embedding width of a preset (a loaded model must already have it).")
    Integer nEmbd;

    @Option(names = "--context", description = "Context length: a preset's positions; for a loaded model, train uses it as the window length (at most the model's positions) and generate requires it to match.")
    Integer context;

    @Option(names = "--vocab", description = "Vocabulary size of a preset (a loaded model must already have it).")
    Integer vocab;

    static final class Presets extends ArrayList<String> {
        Presets() {
            super(GPTConfig.PRESETS);
        }
    }

    /** The preset with every given flag applied (validated by GPTConfig). */
    public GPTConfig config() {
        return applyOverrides(GPTConfig.preset(preset));
    }

    /** A config with the architecture flags that were given applied. */
    public GPTConfig applyOverrides(GPTConfig base) {
        return base.withShape(
                nLayer != null ? nLayer : base.nLayers(),
                nHead != null ? nHead : base.nHeads(),
                nEmbd != null ? nEmbd : base.embDim(),
                context != null ? context : base.contextLength(),
                vocab != null ? vocab : base.vocabSize());
    }

    /**
     * These flags for {@link ModelSource#open}: a preset gets them (and {@code dropout} when not null); a loaded
     * model gets {@code dropout} and must agree with every architecture flag given, the error naming both values.
     *
     * @param contextIsWindow --context is the window length for a loaded model (train), not part of its shape
     */
    ModelSource.Flags flags(Float dropout, boolean contextIsWindow) {
        return new ModelSource.Flags() {
            @Override
            public GPTConfig preset(GPTConfig p) {
                GPTConfig c = applyOverrides(p);
                return dropout != null ? c.withDropRate(dropout) : c;
            }

            @Override
            public GPTConfig loaded(GPTConfig file, String source) {
                checkLoaded(file, source, contextIsWindow);
                return dropout != null ? file.withDropRate(dropout) : file;
            }
        };
    }

    /**
     * A loaded model keeps its shape: every architecture flag given must agree with it (an error naming both
     * values otherwise). Nothing to check for a preset, which the flags shaped.
     */
    void checkLoaded(GPTConfig file, String source, boolean contextIsWindow) {
        List<String> clashes = new ArrayList<>();
        clash(clashes, "--n-layer", nLayer, file.nLayers());
        clash(clashes, "--n-head", nHead, file.nHeads());
        clash(clashes, "--n-embd", nEmbd, file.embDim());
        clash(clashes, "--vocab", vocab, file.vocabSize());
        if (!contextIsWindow) clash(clashes, "--context", context, file.contextLength());
        if (!clashes.isEmpty()) {
            throw new JgptException(String.join(", ", clashes) + " in " + source
                    + ": architecture flags shape a preset only, a loaded model keeps its shape (drop the flag)");
        }
    }

    private static void clash(List<String> out, String flag, Integer given, int inFile) {
        if (given != null && given != inFile) out.add(flag + " " + given + " contradicts the model's " + inFile);
    }
}
