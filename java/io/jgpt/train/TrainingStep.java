package io.jgpt.train;

import io.jgpt.model.DropoutPlan;
import io.jgpt.model.GPTModel;
import io.jgpt.ops.Ops;
import io.jgpt.ops.StepState;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One optimizer step: forward and backward over each micro-batch (gradient accumulation), then the
 * optimizer's decision and update on the backend: the global gradient norm, clipping folded into the update,
 * and a non-finite loss or norm skipping the update so a NaN never reaches the weights. Nothing here waits
 * for the device; {@link #result()} reads the step's scalars back when the caller logs.
 *
 * <p>On a backend with graphs (CUDA) a step of one micro-batch without dropout is recorded once per batch
 * shape — after one eager step of that shape has allocated every buffer — and replayed from then on: the
 * host only copies the batch and the learning rate into device memory the graph reads, then launches it.
 * Other steps (accumulation, dropout, whose masks change every step) run eagerly.
 */
public final class TrainingStep implements AutoCloseable {

    /**
     * @param skipped   true when the loss or the gradient norm was not finite and the weights were left alone
     * @param badInARow skipped steps in a row, ending with this one
     */
    public record Result(float loss, double gradNorm, boolean skipped, int badInARow) {}

    private static final Logger LOG = LoggerFactory.getLogger(TrainingStep.class);

    /** What a recorded step is specific to. */
    private record Shape(int batch, int time, int validTargets) {}

    private final GPTModel model;
    private final AdamW optimizer;
    private final double clipNorm;
    private final boolean graphs;
    private final DataParallel parallel;
    private Shape eagerShape;
    private Shape graphShape;
    private Ops.Graph graph;
    private boolean captureFailed;

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
        float dropRate = model.config().dropRate();
        int k = microBatches.size();
        if (graphs && !captureFailed && parallel == null && k == 1 && dropRate == 0f) {
            Batch b = microBatches.getFirst();
            int valid = model.stage(b.inputs(), b.targets(), b.batch(), b.time());
            replayOrRecord(new Shape(b.batch(), b.time(), valid), DropoutPlan.eval());
        } else {
            int global = k * (parallel == null ? 1 : parallel.size());
            int first = parallel == null ? 0 : parallel.rank() * k;
            for (int i = 0; i < k; i++) {
                Batch b = microBatches.get(i);
                // Masks are indexed by the global micro-batch: they do not depend on how many ranks share the step.
                DropoutPlan plan = new DropoutPlan(dropRate, seed, step * global + first + i, model.dropoutSites());
                int valid = model.stage(b.inputs(), b.targets(), b.batch(), b.time());
                if (parallel != null && i == k - 1) {
                    model.trainStaged(plan, 1f / global, valid, optimizer.state(), parallel::finished);
                } else {
                    model.trainStaged(plan, 1f / global, valid, optimizer.state());
                }
            }
            if (parallel != null) {
                parallel.finishStep(optimizer.state());
                parallel.update(optimizer, clipNorm);
            } else {
                optimizer.update(clipNorm, true);
            }
        }
        model.markGradientsZero();
    }

    /** The device work of a one-batch step whose batch and learning rate are already in device memory. */
    private void deviceWork(DropoutPlan plan, int valid) {
        model.trainStaged(plan, 1f, valid, optimizer.state());
        optimizer.update(clipNorm, true);
    }

    private void replayOrRecord(Shape shape, DropoutPlan plan) {
        if (graph != null && shape.equals(graphShape)) {
            graph.replay();
            return;
        }
        if (!shape.equals(eagerShape)) {
            // The first step of a shape runs eagerly: it allocates the activations and work buffers the graph
            // will read, and lets cuBLAS set itself up, none of which may happen inside a capture.
            eagerShape = shape;
            deviceWork(plan, shape.validTargets());
            return;
        }
        close();
        try {
            graph = model.ops().capture(() -> deviceWork(plan, shape.validTargets()));
        } catch (RuntimeException e) {
            // A driver or library that refuses the capture must not stop training: the step runs eagerly.
            LOG.warn("recording the training step as a CUDA graph failed ({}); running steps eagerly", e.getMessage());
            captureFailed = true;
        }
        if (graph == null) { // a backend without graphs, or a failed capture: stay eager
            deviceWork(plan, shape.validTargets());
            return;
        }
        graphShape = shape;
        graph.replay();
    }

    /** Whether the last step was a replay of a recorded graph. */
    public boolean replaying() {
        return graph != null;
    }

    /** The last step's mean loss, gradient norm and skip decision (waits for the device). */
    public Result result() {
        StepState.Snapshot s = optimizer.lastStep();
        return new Result(s.loss(), s.gradNorm(), s.skipped(), s.badInARow());
    }

    /** Releases the recorded step, if any. */
    @Override
    public void close() {
        if (graph != null) graph.close();
        graph = null;
        graphShape = null;
    }
}
