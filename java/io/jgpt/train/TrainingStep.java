package io.jgpt.train;

import io.jgpt.model.DropoutPlan;
import io.jgpt.model.GPTModel;
import io.jgpt.ops.StepState;
import java.util.List;

/**
 * One optimizer step: forward and backward over each micro-batch (gradient accumulation), then the
 * optimizer's decision and update on the backend: the global gradient norm, clipping folded into the update,
 * and a non-finite loss or norm skipping the update so a NaN never reaches the weights. Nothing here waits
 * for the device; {@link #result()} reads the step's scalars back when the caller logs.
 */
public final class TrainingStep {

    /**
     * @param skipped   true when the loss or the gradient norm was not finite and the weights were left alone
     * @param badInARow skipped steps in a row, ending with this one
     */
    public record Result(float loss, double gradNorm, boolean skipped, int badInARow) {}

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
    public void run(List<Batch> microBatches, float lr, long step, long seed) {
        // The optimizer leaves the gradients zero (skipped steps included), so this is free after the first step.
        model.zeroGradIfDirty();
        optimizer.begin(lr);
        float dropRate = model.config().dropRate();
        for (int i = 0; i < microBatches.size(); i++) {
            Batch b = microBatches.get(i);
            // Each micro-batch of a step gets its own masks: index them as sub-steps.
            DropoutPlan plan = new DropoutPlan(dropRate, seed, step * microBatches.size() + i, model.dropoutSites());
            model.forward(b.inputs(), b.batch(), b.time(), plan);
            model.lossAndBackward(b.targets(), 1f / microBatches.size(), optimizer.state());
        }
        optimizer.update(clipNorm, true);
        model.markGradientsZero();
    }

    /** The last step's mean loss, gradient norm and skip decision (waits for the device). */
    public Result result() {
        StepState.Snapshot s = optimizer.lastStep();
        return new Result(s.loss(), s.gradNorm(), s.skipped(), s.badInARow());
    }
}
