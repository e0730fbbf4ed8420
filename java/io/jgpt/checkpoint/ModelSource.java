package io.jgpt.checkpoint;

import io.jgpt.JgptException;
import io.jgpt.io.Gpt2Checkpoint;
import io.jgpt.io.Gpt2Config;
import io.jgpt.io.LlmcCheckpoint;
import io.jgpt.io.ModelWeights;
import io.jgpt.model.GPTConfig;
import io.jgpt.model.GPTModel;
import io.jgpt.ops.Ops;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.UnaryOperator;

/**
 * What {@code --model} names: a preset (fresh weights), a checkpoint directory (Hugging Face layout, as jgpt
 * writes and as HF publishes GPT-2), a training run's output directory (its newest checkpoint), or an llm.c
 * {@code gpt2_*.bin} file.
 */
public final class ModelSource {
    private ModelSource() {}

    /**
     * @param overrides applied to a preset's config only (architecture flags); a file's shape is what it is
     */
    public static GPTModel open(String spec, Ops ops, long seed, UnaryOperator<GPTConfig> overrides) {
        Path path = Path.of(spec);
        if (!Files.exists(path)) {
            if (GPTConfig.PRESETS.contains(spec) || spec.equals("gpt2")) {
                return new GPTModel(overrides.apply(GPTConfig.preset(spec)), ops, seed);
            }
            throw new JgptException("--model " + spec + ": no such file or directory, and not a preset ("
                    + String.join(", ", GPTConfig.PRESETS) + ")");
        }
        ModelWeights weights = read(path);
        GPTModel model = new GPTModel(weights.shape(), ops, seed);
        ModelStates.load(model, weights.tensors(), path.toString());
        return model;
    }

    /** Reads weights from a checkpoint directory, a run directory or an llm.c file. */
    public static ModelWeights read(Path path) {
        if (Files.isDirectory(path)) {
            Path dir = resolveCheckpoint(path);
            if (!Files.exists(dir.resolve(Gpt2Config.FILE))) {
                throw new JgptException(dir + ": " + Gpt2Config.FILE + " is missing (not a GPT-2 checkpoint directory)");
            }
            if (!Files.exists(dir.resolve(Gpt2Checkpoint.WEIGHTS_FILE))) {
                throw new JgptException(dir + ": " + Gpt2Checkpoint.WEIGHTS_FILE + " is missing");
            }
            return Gpt2Checkpoint.load(dir);
        }
        if (path.toString().endsWith(".safetensors") && path.getParent() != null) {
            return Gpt2Checkpoint.load(path.getParent());
        }
        return LlmcCheckpoint.read(path);
    }

    /** A run directory stands for its newest checkpoint; a checkpoint directory for itself. */
    public static Path resolveCheckpoint(Path dir) {
        if (Files.exists(dir.resolve(Gpt2Config.FILE))) return dir;
        return RunDirectory.latestCheckpoint(dir)
                .orElseThrow(() -> new JgptException(dir + ": " + Gpt2Config.FILE + " is missing and there is no checkpoint under "
                        + dir.resolve(RunDirectory.CHECKPOINTS)));
    }
}
