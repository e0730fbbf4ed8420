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
import java.util.Optional;
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
        if (isPreset(spec)) return new GPTModel(overrides.apply(GPTConfig.preset(spec)), ops, seed);
        Path path = existing(spec);
        ModelWeights weights = read(path);
        GPTModel model = new GPTModel(weights.shape(), ops, seed);
        ModelStates.load(model, weights.tensors(), path.toString());
        return model;
    }

    /** Reads weights from a checkpoint directory, a run directory or an llm.c file. */
    public static ModelWeights read(Path path) {
        return checkpointDirectory(path).map(Gpt2Checkpoint::load).orElseGet(() -> LlmcCheckpoint.read(path));
    }

    /**
     * The Hugging Face-layout checkpoint directory that {@code path} names (itself, a run directory's newest
     * checkpoint, or the directory of a {@code .safetensors} file), checked to hold both files; empty for
     * anything else (an llm.c file).
     */
    public static Optional<Path> checkpointDirectory(Path path) {
        if (Files.isDirectory(path)) {
            Path dir = resolveCheckpoint(path);
            if (!Files.exists(dir.resolve(Gpt2Config.FILE))) {
                throw new JgptException(dir + ": " + Gpt2Config.FILE + " is missing (not a GPT-2 checkpoint directory)");
            }
            if (!Files.exists(dir.resolve(Gpt2Checkpoint.WEIGHTS_FILE))) {
                throw new JgptException(dir + ": " + Gpt2Checkpoint.WEIGHTS_FILE + " is missing");
            }
            return Optional.of(dir);
        }
        if (path.toString().endsWith(".safetensors") && path.getParent() != null) return Optional.of(path.getParent());
        return Optional.empty();
    }

    /** The file or directory {@code spec} names; a user error when there is none (and it is not a preset). */
    public static Path existing(String spec) {
        Path path = Path.of(spec);
        if (!Files.exists(path)) {
            throw new JgptException("--model " + spec + ": no such file or directory, and not a preset ("
                    + String.join(", ", GPTConfig.PRESETS) + ")");
        }
        return path;
    }

    /** Whether {@code spec} names a preset rather than a file. */
    public static boolean isPreset(String spec) {
        return !Files.exists(Path.of(spec)) && (GPTConfig.PRESETS.contains(spec) || spec.equals("gpt2"));
    }

    /** A run directory stands for its newest checkpoint; a checkpoint directory for itself. */
    public static Path resolveCheckpoint(Path dir) {
        if (Files.exists(dir.resolve(Gpt2Config.FILE))) return dir;
        return RunDirectory.latestCheckpoint(dir)
                .orElseThrow(() -> new JgptException(dir + ": " + Gpt2Config.FILE + " is missing and there is no checkpoint under "
                        + dir.resolve(RunDirectory.CHECKPOINTS)));
    }
}
