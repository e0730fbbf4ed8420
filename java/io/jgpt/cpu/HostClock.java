package io.jgpt.cpu;

import io.jgpt.profile.Profiler;

/** CPU ops run synchronously on the calling thread's behalf, so wall-clock nanoTime stamps are exact. */
record HostClock() implements Profiler.Clock {

    @Override
    public long mark() {
        return System.nanoTime();
    }

    @Override
    public double microsBetween(long a, long b) {
        return (b - a) / 1e3;
    }
}
