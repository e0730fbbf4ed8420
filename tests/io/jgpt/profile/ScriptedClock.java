package io.jgpt.profile;

/** A clock whose n-th stamp reads the n-th scripted time in microseconds. */
final class ScriptedClock implements Profiler.Clock {
    private final double[] micros;
    private int next;

    ScriptedClock(double... micros) {
        this.micros = micros;
    }

    @Override
    public long mark() {
        return next++;
    }

    @Override
    public double microsBetween(long a, long b) {
        return micros[(int) b] - micros[(int) a];
    }
}
