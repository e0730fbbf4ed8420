package io.jgpt.ops;

/**
 * The scalars of one optimizer step, kept in a small F32 tensor on the backend so that a step needs no
 * round trip to the host: the host queues the learning rate, the loss is accumulated where it is computed,
 * the gradient norm, the clip factor and the decision to skip a non-finite step are made by
 * {@link Ops#stepDecision}, and {@link Ops#adamw} reads them from there. The host reads the tensor only
 * when it logs (a {@link Snapshot}).
 */
public final class StepState {
    private StepState() {}

    /** Learning rate of this step; written by the host before the step. */
    public static final int LR = 0;
    /** Mean loss of this step (over its micro-batches); cleared by the host with LR, added to by {@link Ops#accumulateLoss}. */
    public static final int LOSS = 1;
    /** Global gradient norm before clipping. */
    public static final int NORM = 2;
    /** Factor the gradients are multiplied by in the update: min(1, maxNorm / (norm + 1e-6)), 1 without clipping. */
    public static final int CLIP = 3;
    /** 1 when the loss or the norm is not finite: the update leaves weights and moments alone. */
    public static final int SKIP = 4;
    /** AdamW updates done (t of the bias corrections); counted on the device, exact up to 2^24. */
    public static final int STEPS = 5;
    /** Skipped steps in a row, ending with this one. */
    public static final int BAD = 6;
    public static final int SIZE = 8;
    /** The largest step count a float holds exactly. */
    public static final int MAX_STEPS = 1 << 24;

    /** The state as the host sees it after a step. */
    public record Snapshot(float loss, float gradNorm, boolean skipped, int steps, int badInARow) {
        public static Snapshot of(float[] s) {
            return new Snapshot(s[LOSS], s[NORM], s[SKIP] != 0f, (int) s[STEPS], (int) s[BAD]);
        }
    }
}
