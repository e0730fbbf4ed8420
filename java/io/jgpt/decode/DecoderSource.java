package io.jgpt.decode;

import io.jgpt.checkpoint.ModelSource;
import io.jgpt.checkpoint.ModelStates;
import io.jgpt.cpu.CpuOps;
import io.jgpt.cpu.KernelWarmUp;
import io.jgpt.cpu.WeightMatrix;
import io.jgpt.model.GPTConfig;
import io.jgpt.model.GPTModel;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.UnaryOperator;

/** Opens what {@code --model} names as {@link DecoderWeights}: a safetensors checkpoint is mapped, anything else read. */
public final class DecoderSource {
    private DecoderSource() {}

    /**
     * @param type the matrices' element type; null keeps a checkpoint's (F32 for presets and llm.c files)
     * @param seed initialises a preset's weights
     * @param overrides applied to a preset's config only
     */
    public static DecoderWeights open(String spec, WeightMatrix.Type type, long seed, UnaryOperator<GPTConfig> overrides) {
        // The kernels start compiling while the weights open; the first prefill waits for them.
        KernelWarmUp warmUp = KernelWarmUp.start();
        try {
            DecoderWeights w = load(spec, type, seed, overrides);
            w.warmUpWith(warmUp);
            return w;
        } catch (RuntimeException | Error e) {
            warmUp.cancel();
            throw e;
        }
    }

    private static DecoderWeights load(String spec, WeightMatrix.Type type, long seed, UnaryOperator<GPTConfig> overrides) {
        WeightMatrix.Type orF32 = type != null ? type : WeightMatrix.Type.F32;
        if (ModelSource.isPreset(spec)) {
            try (CpuOps ops = new CpuOps(Runtime.getRuntime().availableProcessors())) {
                GPTModel model = ModelSource.open(spec, ops, seed, overrides);
                return DecoderWeights.of(ModelStates.export(model), orF32);
            }
        }
        Path path = ModelSource.existing(spec);
        Optional<Path> checkpoint = ModelSource.checkpointDirectory(path);
        if (checkpoint.isPresent()) return DecoderWeights.map(checkpoint.get(), type);
        return DecoderWeights.of(ModelSource.read(path), orF32);
    }
}
