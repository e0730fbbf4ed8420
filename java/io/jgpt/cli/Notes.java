package io.jgpt.cli;

import io.jgpt.checkpoint.ModelSource;
import org.slf4j.LoggerFactory;

/** One-line notes about what a command is really about to do, where it could surprise. */
final class Notes {
    private Notes() {}

    /** Generating from or evaluating a preset means random weights: say so, since the output will be noise. */
    static void randomWeights(String spec) {
        if (ModelSource.isPreset(spec)) {
            LoggerFactory.getLogger(Notes.class).warn("random weights: preset {}, untrained (give --model a checkpoint or run directory for a trained model)", spec);
        }
    }
}
