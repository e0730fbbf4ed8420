package io.jgpt.model;

import io.jgpt.ops.Dropout;

/**
 * Which dropout masks one forward pass uses. Every dropout site in the model has a fixed id; its mask for a
 * step is a pure function of (seed, step, site id), so a resumed run, a second backend or a gradient check
 * re-evaluating the same step all see identical masks. Site id is also the site's slot in the key table
 * ({@link #keys}) that the model stages before the pass, which is what lets one recorded CUDA graph serve
 * every step: the graph reads slots, each step stages its own keys into them.
 */
public record DropoutPlan(float p, long seed, long step, int sites) {

    /** Evaluation: no dropout anywhere. */
    public static DropoutPlan eval() {
        return new DropoutPlan(0f, 0, 0, 1);
    }

    public Dropout site(int id) {
        if (p == 0f) return Dropout.NONE;
        return Dropout.of(p, seed, step * sites + id).atSlot(id);
    }

    /** Every site's key, indexed by site id (empty without dropout): the table {@link io.jgpt.ops.Ops#stageDropoutKeys} takes. */
    public long[] keys() {
        if (p == 0f) return new long[0];
        long[] keys = new long[sites];
        for (int id = 0; id < sites; id++) keys[id] = site(id).key();
        return keys;
    }
}
