package io.jgpt.cli;

import io.jgpt.checkpoint.ModelSource;
import io.jgpt.checkpoint.ModelStates;
import io.jgpt.cpu.CpuOps;
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

    @Option(names = "--from", required = true, description = "Checkpoint directory, run directory, llm.c .bin, or a preset (its random initial weights, seed 1337: a stand-in for benchmarks).")
    Path from;

    @Option(names = "--to", required = true, description = "A .bin path (llm.c, fp32) or a directory (Hugging Face layout).")
    Path to;

    @Override
    public Integer call() {
        ModelWeights weights;
        if (ModelSource.isPreset(from.toString())) {
            try (CpuOps ops = new CpuOps(Runtime.getRuntime().availableProcessors())) {
                weights = ModelStates.export(ModelSource.open(from.toString(), ops, 1337, c -> c));
            }
        } else {
            weights = ModelSource.read(from);
        }
        if (to.toString().endsWith(".bin")) {
            LlmcCheckpoint.write(to, weights);
        } else {
            Gpt2Checkpoint.save(to, weights);
        }
        System.out.printf("converted %s -> %s (%,d parameters)%n", from, to, weights.shape().parameterCount());
        return 0;
    }
}
