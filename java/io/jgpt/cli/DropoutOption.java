package io.jgpt.cli;

import io.jgpt.JgptException;
import picocli.CommandLine.Option;

/** --dropout for the commands that train: it changes no weight, so it applies to presets and loaded models alike. */
public final class DropoutOption {
    @Option(names = "--dropout", description = "Dropout rate in [0, 1) for embeddings, attention weights and residuals (default: the preset's, or the loaded model's config.json).")
    Float rate;

    /** The rate given, or null; checked to be in [0, 1). */
    Float rate() {
        if (rate != null && !(rate >= 0 && rate < 1)) throw new JgptException("--dropout must be in [0, 1), got " + rate);
        return rate;
    }
}
