package io.jgpt.train;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import io.jgpt.JgptException;
import io.jgpt.cpu.CpuTensor;
import io.jgpt.dist.Communicator;
import io.jgpt.dist.Element;
import io.jgpt.model.ParameterArena;
import io.jgpt.ops.Ops;
import io.jgpt.ops.StepState;
import io.jgpt.profile.Profiler;
import io.jgpt.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Data parallelism over host gradients (the CPU backend, ranks talking through MPI). The gradient arena is cut
 * into {@link GradientBuckets} of about 25 MB in reverse layer order; while the last micro-batch's backward
 * pass runs, each bucket whose modules have finished is handed to a communication thread, which
 * reduce-scatters it (every element is summed once, by the rank that owns its chunk) and all-gathers the
 * chunks back, so every rank ends with the same bits whatever the bucket size. Buckets are reduced in the
 * same order on every rank. The step's loss is summed over ranks in rank order; the optimizer then computes
 * the same norm, clip factor and skip decision on every rank from the same gradients.
 */
public final class DataParallel implements AutoCloseable {

    public static final long BUCKET_BYTES = 25L << 20;

    private final Communicator comm;
    private final ParameterArena arena;
    private final List<GradientBuckets.Bucket> buckets;
    private final Arena memory = Arena.ofShared();
    private final MemorySegment[] staging;
    private final MemorySegment[] chunks;
    private final List<Future<?>> pending = new ArrayList<>();
    private final Set<String> finishedModules = new HashSet<>();
    private final ExecutorService thread = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "gradient-reduction");
        t.setDaemon(true);
        return t;
    });
    private volatile Profiler profiler = Profiler.OFF;
    private int nextBucket;

    public DataParallel(Communicator comm, ParameterArena arena, long bucketBytes) {
        if (!(arena.gradients() instanceof CpuTensor)) {
            throw new JgptException("data-parallel training across processes runs on --device cpu (MPI) here; "
                    + "the NCCL path for --device cuda is not wired into the trainer yet");
        }
        this.comm = comm;
        this.arena = arena;
        this.buckets = GradientBuckets.plan(arena.backwardBuckets(), bucketBytes / Float.BYTES, comm.size());
        staging = new MemorySegment[buckets.size()];
        chunks = new MemorySegment[buckets.size()];
        for (int b = 0; b < buckets.size(); b++) {
            // Zero-filled: the padding past the bucket's end stays zero and adds nothing to any sum.
            staging[b] = memory.allocate(JAVA_FLOAT, buckets.get(b).chunk() * comm.size());
            chunks[b] = memory.allocate(JAVA_FLOAT, buckets.get(b).chunk());
        }
    }

    public int rank() {
        return comm.rank();
    }

    public int size() {
        return comm.size();
    }

    public Communicator communicator() {
        return comm;
    }

    public List<GradientBuckets.Bucket> buckets() {
        return buckets;
    }

    /** Collective spans ("reduce_scatter", "all_gather", ...) go to this profiler (host clock). */
    public void profile(Profiler p) {
        profiler = p;
    }

    /** Every rank makes its weights rank 0's (they start identical; this makes sure of it). */
    public void broadcastWeights() {
        float[] values = host(arena.values());
        MemorySegment s = memory.allocate(JAVA_FLOAT, values.length);
        MemorySegment.copy(values, 0, s, JAVA_FLOAT, 0, values.length);
        comm.broadcast(s, values.length, Element.F32, 0);
        MemorySegment.copy(s, JAVA_FLOAT, 0, values, 0, values.length);
    }

    /**
     * Called by the last micro-batch's backward pass with each top-level module whose gradients are final;
     * queues every bucket that is now complete, strictly in bucket order.
     */
    public void finished(String module) {
        finishedModules.add(module);
        while (nextBucket < buckets.size() && finishedModules.containsAll(buckets.get(nextBucket).modules())) {
            int b = nextBucket++;
            pending.add(thread.submit(() -> reduce(b)));
        }
    }

    /**
     * Completes the step's exchange: waits until every bucket is reduced (queuing any the backward pass did not
     * report) and replaces this rank's share of the mean loss in the optimizer's step state with the sum over
     * ranks, so every rank's optimizer sees the global gradients and loss.
     */
    public void finishStep(Tensor stepState) {
        for (GradientBuckets.Bucket b : buckets) finishedModules.addAll(b.modules());
        finished("");
        try {
            for (Future<?> f : pending) f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while reducing gradients", e);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        } finally {
            pending.clear();
            finishedModules.clear();
            nextBucket = 0;
        }
        // After the buckets: this thread's collective must come after the communication thread's on every rank.
        Ops ops = arena.ops();
        Tensor loss = ops.view(stepState, StepState.LOSS, 1);
        ops.write(loss, new float[] {(float) sumOverRanks(ops.download(loss)[0])});
    }

    /** The sum of one value from every rank, added in rank order: the same bits on every rank. */
    public double sumOverRanks(double value) {
        MemorySegment all = memory.allocate(JAVA_DOUBLE, comm.size());
        all.setAtIndex(JAVA_DOUBLE, comm.rank(), value);
        long h = profiler.begin();
        comm.allGather(all, 1, Element.F64);
        profiler.end(h, "all_gather_scalar", 8L * comm.size(), 0);
        double sum = 0;
        for (int r = 0; r < comm.size(); r++) sum += all.getAtIndex(JAVA_DOUBLE, r);
        return sum;
    }

    /** Whether any rank says yes (a stop request must stop every rank at the same step). */
    public boolean anyRank(boolean yes) {
        return sumOverRanks(yes ? 1 : 0) > 0;
    }

    private void reduce(int index) {
        GradientBuckets.Bucket b = buckets.get(index);
        CpuTensor grads = (CpuTensor) arena.gradients();
        float[] g = grads.array();
        int from = grads.offset() + Math.toIntExact(b.from()), length = Math.toIntExact(b.length());
        long chunk = b.chunk();
        MemorySegment send = staging[index], mine = chunks[index];
        MemorySegment.copy(g, from, send, JAVA_FLOAT, 0, length);
        long h = profiler.begin();
        comm.reduceScatterSum(send, mine, chunk, Element.F32);
        profiler.end(h, "reduce_scatter", 4L * chunk * comm.size(), (double) chunk * comm.size());
        MemorySegment.copy(mine, 0, send, comm.rank() * chunk * Float.BYTES, chunk * Float.BYTES);
        h = profiler.begin();
        comm.allGather(send, chunk, Element.F32);
        profiler.end(h, "all_gather", 4L * chunk * comm.size(), 0);
        MemorySegment.copy(send, JAVA_FLOAT, 0, g, from, length);
    }

    private static float[] host(Tensor t) {
        CpuTensor c = (CpuTensor) t;
        if (c.isView()) throw new IllegalStateException("expected a whole arena, got a view");
        return c.array();
    }

    @Override
    public void close() {
        thread.shutdownNow();
        memory.close();
    }
}
