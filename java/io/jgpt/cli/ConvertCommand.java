package io.jgpt.cli;

import io.jgpt.JgptException;
import io.jgpt.checkpoint.ModelSource;
import io.jgpt.checkpoint.ModelStates;
import io.jgpt.cpu.CpuOps;
import io.jgpt.checkpoint.RunDirectory;
import io.jgpt.io.AtomicDirectory;
import io.jgpt.io.Dtype;
import io.jgpt.io.Gpt2Checkpoint;
import io.jgpt.io.Gpt2Config;
import io.jgpt.io.IoErrors;
import io.jgpt.io.LlmcCheckpoint;
import io.jgpt.io.ModelWeights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Converts between Hugging Face / jgpt checkpoint directories and llm.c {@code gpt2_*.bin} files. */
@Command(name = "convert", mixinStandardHelpOptions = true, description = "Convert weights: checkpoint directory <-> llm.c .bin.")
public final class ConvertCommand implements Callable<Integer> {

    @Option(names = "--from", required = true, description = "Checkpoint directory, run directory (its newest checkpoint), model.safetensors, llm.c .bin, or a preset (its random initial weights, seed 1337: a stand-in for benchmarks).")
    Path from;

    @Option(names = "--to", required = true, description = "A .bin path (llm.c, fp32) or a directory (Hugging Face layout); must not exist yet, or be an empty directory.")
    Path to;

    @Option(names = "--dtype", defaultValue = "f32", description = "f32 or bf16: the weight matrices of a checkpoint directory rounded to nearest even (half the bytes; bf16 decoding maps them in place), biases and LayerNorm kept f32. llm.c files are f32. Default ${DEFAULT-VALUE}.")
    String dtype;

    @Option(names = "--overwrite", description = "Replace an existing --to: a .bin file, or a checkpoint directory's config.json and model.safetensors.")
    boolean overwrite;

    @Override
    public Integer call() {
        boolean llmc = to.toString().endsWith(".bin");
        Dtype stored = Checks.f32OrBf16("--dtype", dtype, Dtype.F32, Dtype.BF16);
        if (llmc && stored != Dtype.F32) throw new JgptException("--dtype " + dtype + " is for a checkpoint directory; llm.c .bin files are f32");
        checkTarget(llmc);
        ModelWeights weights;
        if (ModelSource.isPreset(from.toString())) {
            try (CpuOps ops = new CpuOps(Runtime.getRuntime().availableProcessors())) {
                weights = ModelStates.export(ModelSource.open(from.toString(), ops, 1337, ModelSource.Flags.NONE));
            }
        } else {
            weights = ModelSource.read(from);
        }
        if (llmc) {
            LlmcCheckpoint.write(to, weights, "--from " + from);
        } else if (Files.isDirectory(to) && !isEmpty(to)) {
            Gpt2Checkpoint.save(to, weights, stored); // --overwrite of a checkpoint directory: its other files stay
        } else {
            AtomicDirectory.write(to, dir -> Gpt2Checkpoint.save(dir, weights, stored)); // never a half-written directory
        }
        System.out.printf("converted %s -> %s (%,d parameters, %s)%n", from, to, weights.shape().parameterCount(),
                llmc ? "f32" : dtype);
        return 0;
    }

    /** Never writes over the user's work unasked, and never into a training run's directory. */
    private void checkTarget(boolean llmc) {
        if (!Files.exists(to)) return;
        if (llmc) {
            if (Files.isDirectory(to)) throw new JgptException("--to " + to + " is a directory; name a .bin file");
            if (!overwrite) throw new JgptException("--to " + to + " already exists; give --overwrite to replace it, or choose another name");
            return;
        }
        if (!Files.isDirectory(to)) throw new JgptException("--to " + to + " is a file; name a directory for a Hugging Face checkpoint, or a .bin file");
        if (isEmpty(to)) return;
        if (Files.exists(to.resolve(RunDirectory.CHECKPOINTS))) {
            throw new JgptException("--to " + to + " is a training run directory; converting into it would make it stand for"
                    + " the converted model instead of its newest checkpoint; choose another directory");
        }
        if (!overwrite) {
            throw new JgptException("--to " + to + " is not empty; give --overwrite to replace its " + Gpt2Config.FILE + " and "
                    + Gpt2Checkpoint.WEIGHTS_FILE + ", or choose a new directory");
        }
        if (!Files.exists(to.resolve(Gpt2Config.FILE))) {
            throw new JgptException("--to " + to + " is not empty and not a checkpoint directory (no " + Gpt2Config.FILE + "); choose a new directory");
        }
    }

    private static boolean isEmpty(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        } catch (IOException e) {
            throw new JgptException("cannot list " + dir + ": " + IoErrors.reason(e), e);
        }
    }
}
