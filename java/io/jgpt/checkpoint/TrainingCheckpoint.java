package io.jgpt.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.jgpt.JgptException;
import io.jgpt.io.AtomicDirectory;
import io.jgpt.io.AtomicWrite;
import io.jgpt.io.Gpt2Checkpoint;
import io.jgpt.io.HostTensor;
import io.jgpt.io.IoErrors;
import io.jgpt.io.Safetensors;
import io.jgpt.model.GPTModel;
import io.jgpt.model.Parameter;
import io.jgpt.train.AdamW;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A resumable checkpoint: a Hugging Face GPT-2 directory ({@code config.json}, {@code model.safetensors})
 * plus {@code optimizer.safetensors} (AdamW moments, PyTorch's names {@code exp_avg.*}, {@code exp_avg_sq.*})
 * and {@code trainer.json}, written as one {@link AtomicDirectory}: a crash leaves the previous checkpoint
 * intact, and pruning never leaves a half-deleted one.
 */
public final class TrainingCheckpoint {
    public static final String OPTIMIZER_FILE = "optimizer.safetensors";
    public static final String TRAINER_FILE = "trainer.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private TrainingCheckpoint() {}

    /**
     * Saves into {@code run/checkpoints/step-N} and keeps only the newest {@code keep} checkpoints, never
     * counting out the one just written.
     */
    public static Path save(Path run, GPTModel model, AdamW optimizer, TrainerState state, int keep) {
        Path target = RunDirectory.checkpointDir(run, state.step());
        byte[] json;
        try {
            json = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(state);
        } catch (IOException e) {
            throw new IllegalStateException("trainer state does not serialize", e);
        }
        AtomicDirectory.write(target, temp -> {
            Gpt2Checkpoint.save(temp, ModelStates.export(model));
            Safetensors.write(temp.resolve(OPTIMIZER_FILE), moments(model, optimizer), Map.of("format", "pt"));
            AtomicWrite.write(temp.resolve(TRAINER_FILE), ch -> ch.write(ByteBuffer.wrap(json)));
        });
        prune(run, keep, target);
        return target;
    }

    private static Map<String, HostTensor> moments(GPTModel model, AdamW optimizer) {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        List<String> names = names(model, optimizer);
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            var m = optimizer.firstMoments().get(i);
            var v = optimizer.secondMoments().get(i);
            out.put("exp_avg." + name, new HostTensor(m.shape(), model.ops().download(m)));
            out.put("exp_avg_sq." + name, new HostTensor(v.shape(), model.ops().download(v)));
        }
        return out;
    }

    /** Restores weights, optimizer moments and step count from a checkpoint; returns the trainer state. */
    public static TrainerState restore(Path dir, GPTModel model, AdamW optimizer) {
        Path checkpoint = ModelSource.resolveCheckpoint(dir);
        ModelStates.load(model, ModelSource.read(checkpoint).tensors(), checkpoint.toString());
        return restoreOptimizer(checkpoint, model, optimizer);
    }

    /** Restores optimizer moments and step count into a model already loaded from {@code checkpoint}. */
    public static TrainerState restoreOptimizer(Path checkpoint, GPTModel model, AdamW optimizer) {
        TrainerState state = readState(checkpoint);
        Path optimizerFile = requireFile(checkpoint, OPTIMIZER_FILE);
        Map<String, HostTensor> moments = Safetensors.readAll(optimizerFile);
        List<String> names = names(model, optimizer);
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            ModelStates.upload(model.ops(), optimizer.firstMoments().get(i), need(moments, "exp_avg." + name, optimizerFile),
                    optimizerFile.toString(), "exp_avg." + name);
            ModelStates.upload(model.ops(), optimizer.secondMoments().get(i), need(moments, "exp_avg_sq." + name, optimizerFile),
                    optimizerFile.toString(), "exp_avg_sq." + name);
        }
        optimizer.setStepCount(state.optimizerStep());
        return state;
    }

    /** The trainer state of a checkpoint directory (cheap: one small JSON file). */
    public static TrainerState readState(Path checkpoint) {
        requireFile(checkpoint, OPTIMIZER_FILE);
        Path trainerFile = requireFile(checkpoint, TRAINER_FILE);
        try {
            return JSON.readValue(trainerFile.toFile(), TrainerState.class);
        } catch (IOException e) {
            throw new JgptException(trainerFile + ": not a valid trainer state: " + IoErrors.reason(e), e);
        }
    }

    private static Path requireFile(Path checkpoint, String name) {
        Path p = checkpoint.resolve(name);
        if (!Files.exists(p)) throw new JgptException(checkpoint + ": " + name + " is missing (not a resumable jgpt checkpoint)");
        return p;
    }

    /** The dotted name of each optimised parameter, in the optimizer's order. */
    private static List<String> names(GPTModel model, AdamW optimizer) {
        Map<Parameter, String> byParameter = new java.util.IdentityHashMap<>();
        model.namedParameters().forEach((n, p) -> byParameter.put(p, n));
        return optimizer.parameters().stream().map(p -> {
            String n = byParameter.get(p);
            if (n == null) throw new IllegalStateException("optimizer holds a parameter the model does not");
            return n;
        }).toList();
    }

    private static HostTensor need(Map<String, HostTensor> tensors, String name, Path file) {
        HostTensor t = tensors.get(name);
        if (t == null) throw new JgptException(file + ": tensor '" + name + "' is missing");
        return t;
    }

    private static void prune(Path run, int keep, Path justWritten) {
        List<Path> others = new ArrayList<>(RunDirectory.checkpoints(run));
        others.removeIf(p -> p.getFileName().equals(justWritten.getFileName()));
        for (int i = 0; i < others.size() - (keep - 1); i++) AtomicDirectory.delete(others.get(i));
    }
}
