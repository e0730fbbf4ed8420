package io.jgpt.train;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import io.jgpt.JgptException;
import io.jgpt.cpu.CpuTensor;
import io.jgpt.dist.Communicator;
import io.jgpt.dist.Element;
import io.jgpt.model.ParameterArena;
import io.jgpt.ops.ArenaChunks;
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
 * same order on every rank. The step's loss is summed over ranks in rank order, and so is the gradient
 * norm's square, each rank adding up the chunks it owns; every rank then makes the same clip and skip decision.
 *
 * <p>With ZeRO-1 ({@link #shardOptimizer}) the chunks are not gathered back: each rank updates only the
 * weights it owns, with moments for those alone ({@link ShardedAdamW}), and the updated weights are
 * all-gathered. Norm and update are element for element those of the unsharded path, so both give the same
 * bits; checkpoints gather the moments first, so they keep today's format.
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
    /** This rank's part of each bucket (bucket order), possibly empty. */
    private final List<Range> owned = new ArrayList<>();
    /** stepDecision's input when the norm was summed across ranks: one element holding the norm. */
    private final Tensor normInput;
    private final Tensor normChunks;
    private ShardedAdamW shard;
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
        for (GradientBuckets.Bucket b : buckets) {
            long lo = Math.min(b.to(), b.from() + comm.rank() * b.chunk());
            owned.add(new Range(lo, Math.min(b.to(), lo + b.chunk())));
        }
        Ops ops = arena.ops();
        normInput = ops.zeros(Tensor.DType.F32, 1);
        int[] row = ArenaChunks.rows(List.of(new ArenaChunks.Span(0, 1, false)));
        normChunks = ops.upload(row, 1, ArenaChunks.COLUMNS);
        for (int b = 0; b < buckets.size(); b++) {
            // Zero-filled: the padding past the bucket's end stays zero and adds nothing to any sum.
            staging[b] = memory.allocate(JAVA_FLOAT, buckets.get(b).chunk() * comm.size());
            chunks[b] = memory.allocate(JAVA_FLOAT, buckets.get(b).chunk());
        }
    }

    /** Elements [from, to) of an arena. */
    public record Range(long from, long to) {
        public long length() {
            return to - from;
        }
    }

    /**
     * Switches to ZeRO-1: from now on this rank keeps AdamW's moments for its own chunks only, taken from
     * {@code full} (fresh, or restored from a checkpoint), which stays the buffer checkpoints gather into.
     */
    public void shardOptimizer(AdamW full) {
        shard = new ShardedAdamW(arena, full.settings(), owned);
        shard.load(full);
    }

    public boolean sharded() {
        return shard != null;
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

    /**
     * The optimizer step after {@link #finishStep}: the global norm (this rank's chunks' sum of squares, summed
     * over ranks in rank order) decides clip and skip through the backend's stepDecision, then AdamW updates
     * every weight (or, with ZeRO-1, this rank's and the updated weights are all-gathered). Gradients end zero.
     */
    public void update(AdamW optimizer, double maxNorm) {
        Ops ops = arena.ops();
        double local = 0;
        for (Range r : owned) {
            if (r.length() > 0) local += ops.sumOfSquares(ops.view(arena.gradients(), r.from(), Math.toIntExact(r.length())));
        }
        // One element x with x*x = the global sum of squares: stepDecision's norm is then exactly x.
        ops.write(normInput, new float[] {(float) Math.sqrt(sumOverRanks(local))});
        ops.stepDecision(optimizer.state(), normInput, normChunks, (float) Math.max(0, maxNorm));
        if (shard == null) {
            optimizer.apply(true);
            return;
        }
        shard.apply(optimizer);
        ops.zero(arena.gradients());
        gather(host(arena.values()));
    }

    /** ZeRO-1: completes {@code full}'s moments from every rank's shard before a checkpoint (all ranks call it). */
    public void gatherOptimizer(AdamW full) {
        if (shard == null) return;
        shard.store(full);
        gather(host(full.firstMomentArena()));
        gather(host(full.secondMomentArena()));
    }

    /** Every rank's owned chunks of an arena-layout host array to every rank, bucket by bucket. */
    private void gather(float[] a) {
        for (int b = 0; b < buckets.size(); b++) {
            GradientBuckets.Bucket bucket = buckets.get(b);
            Range mine = owned.get(b);
            MemorySegment s = staging[b];
            long at = comm.rank() * bucket.chunk();
            MemorySegment.copy(a, Math.toIntExact(mine.from()), s, JAVA_FLOAT, at * Float.BYTES, Math.toIntExact(mine.length()));
            long h = profiler.begin();
            comm.allGather(s, bucket.chunk(), Element.F32);
            profiler.end(h, "all_gather_weights", 4L * bucket.chunk() * comm.size(), 0);
            MemorySegment.copy(s, JAVA_FLOAT, 0, a, Math.toIntExact(bucket.from()), Math.toIntExact(bucket.length()));
        }
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
        if (shard != null) {
            // ZeRO-1: only the owned part is needed here, in place in the gradient arena.
            Range r = owned.get(index);
            MemorySegment.copy(mine, JAVA_FLOAT, 0, g, grads.offset() + Math.toIntExact(r.from()), Math.toIntExact(r.length()));
            return;
        }
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
