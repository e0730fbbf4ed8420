package io.jgpt.train;

import io.jgpt.model.Parameter;
import io.jgpt.model.ParameterArena;
import io.jgpt.ops.AdamWConfig;
import io.jgpt.ops.ArenaChunks;
import io.jgpt.ops.Ops;
import io.jgpt.ops.StepState;
import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;
import java.util.ArrayList;
import java.util.List;

/**
 * AdamW as {@code torch.optim.AdamW} defines it (decoupled weight decay, bias correction), over every
 * parameter of a model's {@link ParameterArena} in one launch. It sees only parameters, never buffers. Each
 * moment is one allocation with the arena's layout, on the parameters' backend; weight-decay groups are
 * ranges of the arena (the flags of an {@link ArenaChunks} table). The step's scalars — learning rate, step
 * count, loss, gradient norm, clip factor, skip flag — live in a {@link StepState} tensor on the backend, so
 * a step runs without waiting for the device; {@link #lastStep()} reads them back.
 *
 * <p>Under ZeRO-1 ({@link #withoutMoments}) this object keeps only the step state: each rank's
 * {@link ShardedAdamW} holds the moments of its shard and does the update.
 */
public final class AdamW {

    /** @param decayMatricesOnly false (the book): decay every parameter; true: only 2-D weights and embeddings */
    public record Settings(float beta1, float beta2, float eps, float weightDecay, boolean decayMatricesOnly) {
        public static Settings book(float weightDecay) {
            return new Settings(0.9f, 0.999f, 1e-8f, weightDecay, false);
        }

        /** Whether weight decay applies to a parameter (matrices always; the rest unless decay is matrices-only). */
        public boolean decays(boolean matrix) {
            return !decayMatricesOnly || matrix;
        }
    }

    private final ParameterArena arena;
    private final Ops ops;
    /** Both moments in the arena's layout, null under ZeRO-1. */
    private final Tensor m;
    private final Tensor v;
    private final Tensor chunks;
    private final Tensor state;
    private final AdamWConfig config;
    private final Settings settings;

    /** Both moments in the arena's layout on the host, padding included: what a checkpoint holds. */
    public record Moments(float[] first, float[] second) {}

    public AdamW(ParameterArena arena, Settings settings) {
        this(arena, settings, true);
    }

    /** The step state and settings without moments: ZeRO-1, where every rank holds only its shard's. */
    public static AdamW withoutMoments(ParameterArena arena, Settings settings) {
        return new AdamW(arena, settings, false);
    }

    private AdamW(ParameterArena arena, Settings settings, boolean moments) {
        this.arena = arena;
        this.ops = arena.ops();
        this.settings = settings;
        config = new AdamWConfig(settings.beta1, settings.beta2, settings.eps, settings.weightDecay);
        m = moments ? arena.allocate() : null;
        v = moments ? arena.allocate() : null;
        List<ArenaChunks.Span> spans = new ArrayList<>();
        for (ParameterArena.Slot s : arena.slots())
            spans.add(new ArenaChunks.Span(s.offset(), s.numel(), settings.decays(s.matrix())));
        int[] rows = ArenaChunks.rows(spans);
        chunks = ops.upload(rows, rows.length / ArenaChunks.COLUMNS, ArenaChunks.COLUMNS);
        state = ops.zeros(DType.F32, StepState.SIZE);
    }

    /** The updates done so far (the bias corrections' t); reads the device. */
    public int stepCount() {
        return lastStep().steps();
    }

    /** Restores the step counter (moments are restored through {@link #uploadMoments}). */
    public void setStepCount(int step) {
        if (step < 0 || step > StepState.MAX_STEPS)
            throw new IllegalArgumentException("optimizer step count " + step + " is outside [0, " + StepState.MAX_STEPS + "]");
        ops.write(ops.view(state, StepState.STEPS, 1), new float[] {step});
    }

    /** The parameters it updates: the arena's, in layout order. */
    public List<Parameter> parameters() {
        return arena.parameters();
    }

    public ParameterArena arena() {
        return arena;
    }

    /** The step's scalars on the backend (slots in {@link StepState}); the model adds its loss there. */
    public Tensor state() {
        return state;
    }

    /** Starts a step: queues the learning rate and clears the loss accumulator, without waiting. */
    public void begin(float lr) {
        ops.write(ops.view(state, StepState.LR, 2), new float[] {lr, 0f});
    }

    /**
     * Decides on the backend (gradient norm, clip factor for {@code maxNorm} (0 or less: no clipping), skip
     * when the loss or the norm is not finite) and updates every parameter in one launch; a skipped step
     * leaves weights and moments alone. With zeroGrads every gradient ends up zero either way.
     */
    public void update(double maxNorm, boolean zeroGrads) {
        ops.stepDecision(state, arena.gradients(), chunks, (float) Math.max(0, maxNorm));
        apply(zeroGrads);
    }

    /** The update alone, after the step was decided elsewhere (across ranks: {@link DataParallel}). */
    public void apply(boolean zeroGrads) {
        requireMoments();
        // In bf16 runs the same pass writes the weights' bf16 copy that the next forward reads.
        ops.adamw(arena.values(), arena.gradients(), m, v, chunks, state, config, zeroGrads, arena.computeCopy());
    }

    public Settings settings() {
        return settings;
    }

    public AdamWConfig config() {
        return config;
    }

    /** Whether this optimizer holds the whole moments (false under ZeRO-1). */
    public boolean holdsMoments() {
        return m != null;
    }

    /** Both moments, copied to the host (waits for the device). */
    public Moments downloadMoments() {
        requireMoments();
        return new Moments(ops.download(m), ops.download(v));
    }

    /** Overwrites both moments (a restored checkpoint's). */
    public void uploadMoments(Moments moments) {
        requireMoments();
        ops.write(m, moments.first());
        ops.write(v, moments.second());
    }

    private void requireMoments() {
        if (m == null) throw new IllegalStateException("this AdamW holds no moments: under ZeRO-1 each rank's shard has them");
    }

    /** One unclipped update of every parameter with learning rate lr and the current gradients. */
    public void step(float lr) {
        begin(lr);
        update(0, false);
    }

    /** The scalars of the last step, read back from the backend (a wait on the GPU: call it when logging). */
    public StepState.Snapshot lastStep() {
        return StepState.Snapshot.of(ops.download(state));
    }
}
