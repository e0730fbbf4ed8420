package io.jgpt.model;

import io.jgpt.ops.Dropout;

/**
 * Which dropout masks one forward pass uses. Every dropout site in the model has a fixed id; its mask for a
 * step is a pure function of (seed, step, site id), so a resumed run, a second backend or a gradient check
 * re-evaluating the same step all see identical masks.
 */
public record DropoutPlan(float p, long seed, long step, int sites) {

    /** Evaluation: no dropout anywhere. */
    public static DropoutPlan eval() {
        return new DropoutPlan(0f, 0, 0, 1);
    }

    public Dropout site(int id) {
        if (p == 0f) return Dropout.NONE;
        return Dropout.of(p, seed, step * sites + id);
    }
}
