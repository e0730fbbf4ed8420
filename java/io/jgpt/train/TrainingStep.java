package io.jgpt.train;

import io.jgpt.model.DropoutPlan;
import io.jgpt.model.GPTModel;
import io.jgpt.ops.RecordedWork;
import io.jgpt.ops.StepState;
import java.util.List;

/**
 * One optimizer step: forward and backward over each micro-batch (gradient accumulation), then the
 * optimizer's decision and update on the backend: the global gradient norm, clipping folded into the update,
 * and a non-finite loss or norm skipping the update so a NaN never reaches the weights. Nothing here waits
 * for the device; {@link #result()} reads the step's scalars back when the caller logs.
 *
 * <p>On a backend with graphs (CUDA) the step is recorded once per shape (micro-batch size, length, counted
 * targets and the number of micro-batches), after one eager step of that shape has allocated every buffer,
 * and replayed from then on. Everything that changes from step to step is in device memory the graphs read:
 * the host stages each micro-batch's tokens, targets and dropout keys ({@link DropoutPlan#keys}) and the
 * learning rate, then launches. With k micro-batches there are two graphs: one micro-batch's forward and
 * backward, replayed k - 1 times, and the last micro-batch with the optimizer step. Recording one micro-batch
 * rather than the whole step keeps one staged batch in device memory instead of k, lets each micro-batch's
 * upload overlap the one before it, and serves every k with the same two graphs' worth of work; a graph
 * launch costs microseconds against a micro-batch's milliseconds. Steps across ranks run eagerly.
 */
public final class TrainingStep implements AutoCloseable {

    /**
     * @param skipped   true when the loss or the gradient norm was not finite and the weights were left alone
     * @param badInARow skipped steps in a row, ending with this one
     */
    public record Result(float loss, double gradNorm, boolean skipped, int badInARow) {}

    /**
     * What a recorded micro-batch is specific to: its kernels' sizes and loss scale, and which allocation of the
     * model's activations it read (evaluating another shape in between reallocates them).
     */
    private record Shape(int batch, int time, int validTargets, int microBatches, long activations) {}

    private final GPTModel model;
    private final AdamW optimizer;
    private final double clipNorm;
    private final boolean graphs;
    private final DataParallel parallel;
    private Shape eagerShape;
    /** A micro-batch's forward and backward (all but the last of a step's micro-batches). */
    private final RecordedWork micro;
    /** The last micro-batch and the optimizer step. */
    private final RecordedWork last;
    private boolean replayed;

    /** Replays recorded steps where the backend can (see the class comment); see the 4-argument constructor. */
    public TrainingStep(GPTModel model, AdamW optimizer, double clipNorm) {
        this(model, optimizer, clipNorm, true);
    }

    /**
     * @param clipNorm maximum global gradient norm; 0 or less disables clipping (the norm is still measured)
     * @param graphs   record and replay steps on a backend with graphs; false runs every step eagerly
     */
    public TrainingStep(GPTModel model, AdamW optimizer, double clipNorm, boolean graphs) {
        this(model, optimizer, clipNorm, graphs, null);
    }

    /**
     * @param parallel the ranks this step's global batch is shared with, or null for one process: each rank
     *                 runs its own micro-batches, and the gradients and the loss are summed over the ranks
     *                 before the optimizer decides (so norm, clipping and skipping are the same everywhere)
     */
    public TrainingStep(GPTModel model, AdamW optimizer, double clipNorm, boolean graphs, DataParallel parallel) {
        this.parallel = parallel;
        this.model = model;
        this.optimizer = optimizer;
        this.clipNorm = clipNorm;
        this.graphs = graphs;
        this.micro = new RecordedWork(model.ops(), "the training step");
        this.last = new RecordedWork(model.ops(), "the training step");
        if (optimizer.arena() != model.parameterArena())
            throw new IllegalArgumentException("the optimizer was made for another model's parameters");
    }

    /**
     * @param microBatches this rank's micro-batches: with R ranks of k each, rank r's are global micro-batches
     *                     r*k .. r*k+k-1 of the step's R*k
     * @param step the global step number, which selects this step's dropout masks
     * @param seed the run's seed
     */
    public void run(List<Batch> microBatches, float lr, long step, long seed) {
        // The optimizer leaves the gradients zero (skipped steps included), so this is free after the first step.
        model.zeroGradIfDirty();
        optimizer.begin(lr);
        int k = microBatches.size();
        int global = k * (parallel == null ? 1 : parallel.size());
        int first = parallel == null ? 0 : parallel.rank() * k;
        boolean record = graphs && parallel == null;
        Shape stepShape = null;
        for (int i = 0; i < k; i++) {
            Batch b = microBatches.get(i);
            // Masks are indexed by the global micro-batch: they do not depend on how many ranks share the step.
            DropoutPlan plan = new DropoutPlan(model.config().dropRate(), seed, step * global + first + i,
                    model.dropoutSites());
            int valid = model.stage(b.inputs(), b.targets(), b.batch(), b.time(), plan);
            boolean lastOne = i == k - 1;
            Runnable work = () -> {
                if (parallel != null && lastOne) {
                    model.trainStaged(plan, 1f / global, valid, optimizer.state(), parallel::finished);
                } else {
                    model.trainStaged(plan, 1f / global, valid, optimizer.state());
                }
                if (lastOne && parallel == null) optimizer.update(clipNorm, true);
            };
            Shape shape = new Shape(b.batch(), b.time(), valid, k, model.activationAllocations());
            if (i == 0) {
                stepShape = shape;
                // The first step of a shape runs eagerly: it allocates the activations and work buffers the
                // graphs will read, and lets cuBLAS set itself up, none of which may happen inside a capture.
                if (!shape.equals(eagerShape)) record = false;
                eagerShape = shape;
            }
            // A micro-batch of another shape than the step's first (fewer counted targets, say) runs eagerly.
            // One refused capture stops both pieces from trying.
            boolean replay = record && !micro.refused() && !last.refused() && shape.equals(stepShape)
                    && (lastOne ? last : micro).replay(shape, work);
            if (!replay) {
                // Work of a new shape may move the buffers a recorded graph reads: record again.
                if (!micro.holds(shape) && !last.holds(shape)) close();
                work.run();
            }
            if (lastOne) replayed = replay;
        }
        if (parallel != null) {
            parallel.finishStep(optimizer.state());
            parallel.update(optimizer, clipNorm);
        }
        model.markGradientsZero();
    }

    /** Whether the last step ended with a replay of a recorded graph. */
    public boolean replaying() {
        return replayed;
    }

    /** The last step's mean loss, gradient norm and skip decision (waits for the device). */
    public Result result() {
        // Across GPU ranks: fail within the communicator's timeout rather than wait for ever behind a dead peer.
        if (parallel != null) parallel.settle();
        StepState.Snapshot s = optimizer.lastStep();
        return new Result(s.loss(), s.gradNorm(), s.skipped(), s.badInARow());
    }

    /** Releases the recorded graphs, if any. */
    @Override
    public void close() {
        micro.close();
        last.close();
    }
}
