package io.jgpt.cuda;

import io.jgpt.profile.Profiler;
import java.util.ArrayList;
import java.util.List;
import jcuda.driver.CUevent;

/**
 * Device time stamps: each {@link #mark()} records an event on the stream and returns its index in a pool,
 * so spans measure when the GPU ran the work, not when the host queued it. {@link #reset()} recycles the
 * pool, which grows to the largest number of marks between two resets.
 */
final class EventClock implements Profiler.Clock, AutoCloseable {

    private final CudaContext ctx;
    private final List<CUevent> pool = new ArrayList<>();
    private int next;

    EventClock(CudaContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public long mark() {
        if (next == pool.size()) pool.add(ctx.createEvent());
        ctx.driver().record(pool.get(next), ctx.stream());
        return next++;
    }

    @Override
    public double microsBetween(long a, long b) {
        CudaDriver d = ctx.driver();
        CUevent end = pool.get((int) b);
        d.synchronize(end);
        return d.elapsedMillis(pool.get((int) a), end) * 1000.0;
    }

    @Override
    public void reset() {
        next = 0;
    }

    @Override
    public void close() {
        CudaDriver d = ctx.driver();
        for (CUevent e : pool) d.destroyEvent(e);
        pool.clear();
        next = 0;
    }
}
