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
     * What command-line flags do to the model {@code --model} names: a preset is built with them; a model read
     * from a file keeps its shape, so there they may only set what changes no weight (the dropout rate) and
     * must otherwise agree with the file.
     */
    public interface Flags {
        GPTConfig preset(GPTConfig preset);

        /** @param source the file or directory the config was read from, for messages */
        GPTConfig loaded(GPTConfig file, String source);

        /** A preset as it is; a file as it is. */
        Flags NONE = of(UnaryOperator.identity());

        /** Overrides for presets only; a file as it is. */
        static Flags of(UnaryOperator<GPTConfig> presetOverrides) {
            return new Flags() {
                @Override
                public GPTConfig preset(GPTConfig preset) {
                    return presetOverrides.apply(preset);
                }

                @Override
                public GPTConfig loaded(GPTConfig file, String source) {
                    return file;
                }
            };
        }
    }

    /** @param overrides applied to a preset's config only (architecture flags); a file's shape is what it is */
    public static GPTModel open(String spec, Ops ops, long seed, UnaryOperator<GPTConfig> overrides) {
        return open(spec, ops, seed, Flags.of(overrides));
    }

    public static GPTModel open(String spec, Ops ops, long seed, Flags flags) {
        if (isPreset(spec)) return new GPTModel(flags.preset(GPTConfig.preset(spec)), ops, seed);
        Path path = existing(spec);
        ModelWeights weights = read(path);
        GPTModel model = new GPTModel(flags.loaded(weights.shape(), spec), ops, seed);
        ModelStates.load(model, weights.tensors(), path.toString());
        return model;
    }

    /** Reads weights from a checkpoint directory, a run directory or an llm.c file. */
    public static ModelWeights read(Path path) {
        return checkpointDirectory(path).map(Gpt2Checkpoint::load).orElseGet(() -> LlmcCheckpoint.read(path));
    }

    /**
     * The Hugging Face-layout checkpoint directory that {@code path} names (itself, a run directory's newest
     * checkpoint, or the directory of its {@code model.safetensors}), checked to hold both files; empty for
     * anything else (an llm.c file). Any other file of a checkpoint is refused rather than stood in for by
     * the directory's model.safetensors: what is loaded is what was named.
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
        String name = path.getFileName().toString();
        Path dir = path.toAbsolutePath().getParent();
        if (name.equals(Gpt2Checkpoint.WEIGHTS_FILE)) return checkpointDirectory(dir);
        if (name.equals(TrainingCheckpoint.OPTIMIZER_FILE)) {
            throw new JgptException(path + " holds AdamW's moments, not model weights; name the checkpoint directory " + dir + " instead");
        }
        if (name.endsWith(".safetensors")) {
            throw new JgptException(path + ": a checkpoint's weights are read from its " + Gpt2Checkpoint.WEIGHTS_FILE
                    + " beside " + Gpt2Config.FILE + "; name a checkpoint directory (or its " + Gpt2Checkpoint.WEIGHTS_FILE + ")");
        }
        if (name.endsWith(".json")) {
            throw new JgptException(path + " is a JSON file, not weights; name the checkpoint directory " + dir
                    + ", its " + Gpt2Checkpoint.WEIGHTS_FILE + ", or an llm.c .bin file");
        }
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
