package io.jgpt.cli;

import io.jgpt.checkpoint.ModelSource;
import io.jgpt.io.Gpt2Checkpoint;
import io.jgpt.io.LlmcCheckpoint;
import io.jgpt.io.ModelWeights;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Converts between Hugging Face / jgpt checkpoint directories and llm.c {@code gpt2_*.bin} files. */
@Command(name = "convert", mixinStandardHelpOptions = true, description = "Convert weights: checkpoint directory <-> llm.c .bin.")
public final class ConvertCommand implements Callable<Integer> {

    @Option(names = "--from", required = true, description = "Checkpoint directory, run directory or llm.c .bin.")
    Path from;

    @Option(names = "--to", required = true, description = "A .bin path (llm.c, fp32) or a directory (Hugging Face layout).")
    Path to;

    @Override
    public Integer call() {
        ModelWeights weights = ModelSource.read(from);
        if (to.toString().endsWith(".bin")) {
            LlmcCheckpoint.write(to, weights);
        } else {
            Gpt2Checkpoint.save(to, weights);
        }
        System.out.printf("converted %s -> %s (%,d parameters)%n", from, to, weights.shape().parameterCount());
        return 0;
    }
}
