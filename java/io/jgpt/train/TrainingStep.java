package io.jgpt.train;

import io.jgpt.model.DropoutPlan;
import io.jgpt.model.GPTModel;
import java.util.List;

/**
 * One optimizer step: zero the gradients, forward and backward over each micro-batch (gradient
 * accumulation), clip the global gradient norm, and let AdamW update the weights. A non-finite loss or
 * gradient norm skips the update so a NaN never reaches the weights.
 */
public final class TrainingStep {

    /** @param skipped true when the loss or the gradient norm was not finite and the weights were left alone */
    public record Result(float loss, double gradNorm, boolean skipped) {}

    private final GPTModel model;
    private final AdamW optimizer;
    private final double clipNorm;

    /** @param clipNorm maximum global gradient norm; 0 or less disables clipping (the norm is still measured) */
    public TrainingStep(GPTModel model, AdamW optimizer, double clipNorm) {
        this.model = model;
        this.optimizer = optimizer;
        this.clipNorm = clipNorm;
        if (optimizer.arena() != model.parameterArena())
            throw new IllegalArgumentException("the optimizer was made for another model's parameters");
    }

    /**
     * @param step the global step number, which selects this step's dropout masks
     * @param seed the run's seed
     */
    public Result run(List<Batch> microBatches, float lr, long step, long seed) {
        // The previous step's optimizer left the gradients zero unless that step was skipped.
        model.zeroGradIfDirty();
        float dropRate = model.config().dropRate();
        double lossSum = 0;
        for (int i = 0; i < microBatches.size(); i++) {
            Batch b = microBatches.get(i);
            // Each micro-batch of a step gets its own masks: index them as sub-steps.
            DropoutPlan plan = new DropoutPlan(dropRate, seed, step * microBatches.size() + i, model.dropoutSites());
            model.forward(b.inputs(), b.batch(), b.time(), plan);
            lossSum += model.lossAndBackward(b.targets(), 1f / microBatches.size());
        }
        float loss = (float) (lossSum / microBatches.size());
        double norm = clipNorm > 0
                ? GradClip.clip(optimizer.arena(), clipNorm)
                : GradClip.globalNorm(optimizer.arena());
        if (!Float.isFinite(loss) || !Double.isFinite(norm)) {
            return new Result(loss, norm, true);
        }
        // The optimizer updates every parameter, so its fused zeroing clears every gradient.
        optimizer.step(lr, true);
        model.markGradientsZero();
        return new Result(loss, norm, false);
    }
}
