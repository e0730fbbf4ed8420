package io.jgpt.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.jgpt.JgptException;
import io.jgpt.io.AtomicWrite;
import io.jgpt.io.Gpt2Checkpoint;
import io.jgpt.io.HostTensor;
import io.jgpt.io.Safetensors;
import io.jgpt.model.GPTModel;
import io.jgpt.model.Parameter;
import io.jgpt.train.AdamW;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A resumable checkpoint: a Hugging Face GPT-2 directory ({@code config.json}, {@code model.safetensors})
 * plus {@code optimizer.safetensors} (AdamW moments, PyTorch's names {@code exp_avg.*}, {@code exp_avg_sq.*})
 * and {@code trainer.json}. The directory is assembled under a temporary name, every file and the directory
 * are forced to disk, and only then is it renamed into place: a crash leaves the previous checkpoint intact.
 */
public final class TrainingCheckpoint {
    public static final String OPTIMIZER_FILE = "optimizer.safetensors";
    public static final String TRAINER_FILE = "trainer.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private TrainingCheckpoint() {}

    /** Saves into {@code run/checkpoints/step-N} and keeps only the newest {@code keep} checkpoints. */
    public static Path save(Path run, GPTModel model, AdamW optimizer, TrainerState state, int keep) {
        Path target = RunDirectory.checkpointDir(run, state.step());
        Path parent = target.getParent();
        Path temp = parent.resolve(".tmp-" + target.getFileName() + "-" + ProcessHandle.current().pid());
        try {
            Files.createDirectories(parent);
            deleteTree(temp);
            Files.createDirectories(temp);
            Gpt2Checkpoint.save(temp, ModelStates.export(model));
            Safetensors.write(temp.resolve(OPTIMIZER_FILE), moments(model, optimizer), Map.of("format", "pt"));
            byte[] json = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(state);
            AtomicWrite.write(temp.resolve(TRAINER_FILE), ch -> ch.write(ByteBuffer.wrap(json)));
            fsyncDirectory(temp);
            if (Files.exists(target)) deleteTree(target);
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
            fsyncDirectory(parent);
        } catch (IOException e) {
            throw new JgptException("cannot save checkpoint " + target + ": " + e.getMessage(), e);
        }
        prune(run, keep);
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
        Path optimizerFile = checkpoint.resolve(OPTIMIZER_FILE);
        Path trainerFile = checkpoint.resolve(TRAINER_FILE);
        for (Path p : List.of(optimizerFile, trainerFile)) {
            if (!Files.exists(p)) throw new JgptException(checkpoint + ": " + p.getFileName() + " is missing (not a resumable jgpt checkpoint)");
        }
        Map<String, HostTensor> moments = Safetensors.readAll(optimizerFile);
        List<String> names = names(model, optimizer);
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            ModelStates.upload(model.ops(), optimizer.firstMoments().get(i), need(moments, "exp_avg." + name, optimizerFile),
                    optimizerFile.toString(), "exp_avg." + name);
            ModelStates.upload(model.ops(), optimizer.secondMoments().get(i), need(moments, "exp_avg_sq." + name, optimizerFile),
                    optimizerFile.toString(), "exp_avg_sq." + name);
        }
        try {
            TrainerState state = JSON.readValue(trainerFile.toFile(), TrainerState.class);
            optimizer.setStepCount(state.optimizerStep());
            return state;
        } catch (IOException e) {
            throw new JgptException(trainerFile + ": not a valid trainer state: " + e.getMessage(), e);
        }
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

    private static void prune(Path run, int keep) {
        List<Path> all = RunDirectory.checkpoints(run);
        for (int i = 0; i < all.size() - keep; i++) {
            try {
                deleteTree(all.get(i));
            } catch (IOException e) {
                throw new JgptException("cannot remove old checkpoint " + all.get(i) + ": " + e.getMessage(), e);
            }
        }
    }

    private static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir)) {
            ch.force(true);
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(x);
        }
    }
}
