package io.jgpt.cuda;

import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventElapsedTime;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;

import io.jgpt.profile.Profiler;
import java.util.ArrayList;
import java.util.List;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;

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
        ctx.ensureCurrent();
        if (next == pool.size()) {
            CUevent e = new CUevent();
            cuEventCreate(e, CUevent_flags.CU_EVENT_DEFAULT);
            pool.add(e);
        }
        cuEventRecord(pool.get(next), ctx.stream());
        return next++;
    }

    @Override
    public double microsBetween(long a, long b) {
        ctx.ensureCurrent();
        CUevent end = pool.get((int) b);
        cuEventSynchronize(end);
        float[] ms = new float[1];
        cuEventElapsedTime(ms, pool.get((int) a), end);
        return ms[0] * 1000.0;
    }

    @Override
    public void reset() {
        next = 0;
    }

    @Override
    public void close() {
        ctx.ensureCurrent();
        for (CUevent e : pool) cuEventDestroy(e);
        pool.clear();
        next = 0;
    }
}
