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
import io.jgpt.model.ParameterArena;
import io.jgpt.train.AdamW;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
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
        return save(run, model, optimizer.downloadMoments(), state, keep);
    }

    /** As {@link #save(Path, GPTModel, AdamW, TrainerState, int)}, with the moments already on the host (ZeRO-1 gathers them). */
    public static Path save(Path run, GPTModel model, AdamW.Moments moments, TrainerState state, int keep) {
        Path target = RunDirectory.checkpointDir(run, state.step());
        byte[] json;
        try {
            json = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(state);
        } catch (IOException e) {
            throw new IllegalStateException("trainer state does not serialize", e);
        }
        AtomicDirectory.write(target, temp -> {
            Gpt2Checkpoint.save(temp, ModelStates.export(model));
            Safetensors.write(temp.resolve(OPTIMIZER_FILE), perParameter(model, moments), Map.of("format", "pt"));
            AtomicWrite.write(temp.resolve(TRAINER_FILE), ch -> ch.write(ByteBuffer.wrap(json)));
        });
        prune(run, keep, target);
        return target;
    }

    /** The moments as PyTorch names them, one tensor per parameter (the arena's padding left out). */
    private static Map<String, HostTensor> perParameter(GPTModel model, AdamW.Moments moments) {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (ParameterArena.Slot s : model.parameterArena().slots()) {
            int from = Math.toIntExact(s.offset()), to = Math.toIntExact(s.end());
            out.put("exp_avg." + s.name(), new HostTensor(s.shape(), Arrays.copyOfRange(moments.first(), from, to)));
            out.put("exp_avg_sq." + s.name(), new HostTensor(s.shape(), Arrays.copyOfRange(moments.second(), from, to)));
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
        optimizer.uploadMoments(readMoments(checkpoint, model));
        optimizer.setStepCount(state.optimizerStep());
        return state;
    }

    /** A checkpoint's AdamW moments in the model's arena layout, on the host (ZeRO-1 ranks take their shards of it). */
    public static AdamW.Moments readMoments(Path checkpoint, GPTModel model) {
        Path optimizerFile = requireFile(checkpoint, OPTIMIZER_FILE);
        Map<String, HostTensor> moments = Safetensors.readAll(optimizerFile);
        ParameterArena arena = model.parameterArena();
        float[] m = new float[Math.toIntExact(arena.size())], v = new float[m.length];
        for (ParameterArena.Slot s : arena.slots()) {
            place(m, s, need(moments, "exp_avg." + s.name(), optimizerFile), optimizerFile);
            place(v, s, need(moments, "exp_avg_sq." + s.name(), optimizerFile), optimizerFile);
        }
        return new AdamW.Moments(m, v);
    }

    private static void place(float[] arena, ParameterArena.Slot s, HostTensor h, Path file) {
        if (!Arrays.equals(s.shape(), h.shape())) {
            throw new JgptException(file + ": tensor '" + s.name() + "' has shape " + Arrays.toString(h.shape())
                    + ", the model needs " + Arrays.toString(s.shape()));
        }
        System.arraycopy(h.data(), 0, arena, Math.toIntExact(s.offset()), h.data().length);
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
