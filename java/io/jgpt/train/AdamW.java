package io.jgpt.train;

import io.jgpt.model.Parameter;
import io.jgpt.model.ParameterArena;
import io.jgpt.ops.AdamWStep;
import io.jgpt.ops.Ops;
import io.jgpt.tensor.Tensor;
import java.util.List;

/**
 * AdamW as {@code torch.optim.AdamW} defines it (decoupled weight decay, bias correction), over every
 * parameter of a model's {@link ParameterArena}. It sees only parameters, never buffers. Each moment is one
 * allocation with the arena's layout, on the parameters' backend.
 */
public final class AdamW {

    /** @param decayMatricesOnly false (the book): decay every parameter; true: only 2-D weights and embeddings */
    public record Settings(float beta1, float beta2, float eps, float weightDecay, boolean decayMatricesOnly) {
        public static Settings book(float weightDecay) {
            return new Settings(0.9f, 0.999f, 1e-8f, weightDecay, false);
        }
    }

    private final ParameterArena arena;
    private final Ops ops;
    private final Tensor m;
    private final Tensor v;
    private final List<Tensor> mViews;
    private final List<Tensor> vViews;
    private final Settings settings;
    private int step;

    public AdamW(ParameterArena arena, Settings settings) {
        this.arena = arena;
        this.ops = arena.ops();
        this.settings = settings;
        m = arena.allocate();
        v = arena.allocate();
        mViews = arena.views(m);
        vViews = arena.views(v);
    }

    public int stepCount() {
        return step;
    }

    /** The parameters it updates: the arena's, in layout order. */
    public List<Parameter> parameters() {
        return arena.parameters();
    }

    public ParameterArena arena() {
        return arena;
    }

    /** Per-parameter views of the first moment, in {@link #parameters()} order. */
    public List<Tensor> firstMoments() {
        return mViews;
    }

    public List<Tensor> secondMoments() {
        return vViews;
    }

    /** Restores the step counter (moments are restored through {@link #firstMoments()}/{@link #secondMoments()}). */
    public void setStepCount(int step) {
        this.step = step;
    }

    /** One update of every parameter with learning rate lr. */
    public void step(float lr) {
        step(lr, false);
    }

    /** One update of every parameter with learning rate lr; with zeroGrads, every gradient ends up zero. */
    public void step(float lr, boolean zeroGrads) {
        step++;
        AdamWStep base = new AdamWStep(lr, settings.beta1, settings.beta2, settings.eps, settings.weightDecay, step);
        List<Parameter> params = arena.parameters();
        for (int i = 0; i < params.size(); i++) {
            Parameter p = params.get(i);
            boolean decay = !settings.decayMatricesOnly || p.isMatrix();
            ops.adamw(p.value(), p.grad(), mViews.get(i), vViews.get(i), decay ? base : base.withWeightDecay(0f),
                    zeroGrads);
        }
    }
}
