package io.jgpt.train;

/**
 * The learning-rate schedule of the book's appendix D: linear warm-up from {@code initialLr} to {@code peakLr}
 * over {@code warmupSteps}, then cosine decay to {@code minLr} at {@code totalSteps}. With no warm-up and
 * {@code minLr == peakLr} it is the constant rate of chapter 5.
 */
public record LrSchedule(float peakLr, float initialLr, float minLr, long warmupSteps, long totalSteps) {

    public static LrSchedule constant(float lr) {
        return new LrSchedule(lr, lr, lr, 0, 1);
    }

    /** The rate for 0-based step {@code step}. */
    public float at(long step) {
        if (step < warmupSteps) {
            return initialLr + (peakLr - initialLr) * (step + 1) / warmupSteps;
        }
        long decaySteps = totalSteps - warmupSteps;
        if (decaySteps <= 0) return peakLr;
        double progress = Math.min(1.0, (double) (step - warmupSteps) / decaySteps);
        return (float) (minLr + (peakLr - minLr) * 0.5 * (1 + Math.cos(Math.PI * progress)));
    }
}
