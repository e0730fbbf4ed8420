package io.jgpt.train;

import io.jgpt.dist.Communicator;
import io.jgpt.dist.Element;
import io.jgpt.dist.SideStream;
import io.jgpt.model.ParameterArena;
import io.jgpt.ops.ArenaChunks;
import io.jgpt.ops.Ops;
import io.jgpt.ops.StepState;
import io.jgpt.profile.Profiler;
import io.jgpt.tensor.Tensor;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Data parallelism over the gradient arena. The arena is cut into {@link GradientBuckets} of about 25 MB in
 * reverse layer order; while the last micro-batch's backward pass runs, each bucket whose modules have
 * finished is handed to the {@link ReductionLane} (CPU ranks: a communication thread over MPI; GPU ranks: a
 * second CUDA stream over NCCL, ordered by events), which reduce-scatters it (every element is summed once,
 * by the rank that owns its chunk) and all-gathers the chunks back, so every rank ends with the same bits
 * whatever the bucket size. Buckets are reduced in the same order on every rank. The step's loss is summed
 * over ranks, and every rank then makes the same clip and skip decision.
 *
 * <p>With ZeRO-1 ({@link #shardOptimizer}) the chunks are not gathered back: each rank updates only the
 * weights it owns, with moments for those alone ({@link ShardedAdamW}), and the updated weights are
 * all-gathered. On the CPU the norm is then, with or without ZeRO, each rank's owned chunks' sum of squares
 * added over ranks in rank order, so both give the same bits; checkpoints gather the moments on rank 0 first,
 * so they keep today's format.
 */
public final class DataParallel implements AutoCloseable {

    public static final long BUCKET_BYTES = 25L << 20;

    private final Communicator comm;
    private final ParameterArena arena;
    private final ReductionLane lane;
    private final List<GradientBuckets.Bucket> buckets;
    private final ReductionLane.Buffer[] staging;
    private final ReductionLane.Buffer[] chunks;
    private final Set<String> finishedModules = new HashSet<>();
    private volatile Profiler profiler = Profiler.OFF;
    /** This rank's part of each bucket (bucket order), possibly empty. */
    private final List<Range> owned = new ArrayList<>();
    /** stepDecision's input when the norm was summed across ranks: one element holding the norm. */
    private final Tensor normInput;
    private final Tensor normChunks;
    private ShardedAdamW shard;
    private int nextBucket;
    private boolean exchanging;

    /** CPU ranks: {@code comm} works on host memory (MPI), collectives run on a communication thread. */
    public DataParallel(Communicator comm, ParameterArena arena, long bucketBytes) {
        this(comm, arena, bucketBytes, new HostLane(comm, arena.ops(), arena.gradients()));
    }

    /** GPU ranks: {@code comm} works on device memory (NCCL) queued on {@code stream}, beside the backend's. */
    public DataParallel(Communicator comm, ParameterArena arena, long bucketBytes, SideStream stream) {
        this(comm, arena, bucketBytes, new DeviceLane(comm, arena.ops(), stream));
    }

    private DataParallel(Communicator comm, ParameterArena arena, long bucketBytes, ReductionLane lane) {
        this.comm = comm;
        this.arena = arena;
        this.lane = lane;
        this.buckets = GradientBuckets.plan(arena.backwardBuckets(), bucketBytes / Float.BYTES, comm.size());
        staging = new ReductionLane.Buffer[buckets.size()];
        chunks = new ReductionLane.Buffer[buckets.size()];
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
            staging[b] = lane.buffer(buckets.get(b).chunk() * comm.size());
            chunks[b] = lane.buffer(buckets.get(b).chunk());
        }
    }

    /** Elements [from, to) of an arena. */
    public record Range(long from, long to) {
        public long length() {
            return to - from;
        }
    }

    /**
     * Switches to ZeRO-1: from now on this rank holds AdamW's moments for its own chunks only (the optimizer
     * holds none, see {@link AdamW#withoutMoments}), zero for a fresh run or taken from {@code restored} (a
     * checkpoint's whole moments, or null).
     */
    public void shardOptimizer(AdamW optimizer, AdamW.Moments restored) {
        if (optimizer.holdsMoments()) throw new IllegalArgumentException("ZeRO-1 wants an AdamW without moments");
        shard = new ShardedAdamW(arena, optimizer.settings(), owned);
        if (restored != null) shard.load(restored);
    }

    /** Elements of each AdamW moment this rank holds under ZeRO-1 (0 without it). */
    public long shardLength() {
        return shard == null ? 0 : shard.length();
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

    /**
     * Collective spans ("reduce_scatter", "all_gather", ...) go to this profiler. Only CPU ranks record them:
     * on a GPU the collectives run on their own stream, which the backend's event clock does not time.
     */
    public void profile(Profiler p) {
        if (comm.memory() == Communicator.Memory.HOST) profiler = p;
    }

    /** Every rank makes its weights rank 0's (they start identical; this makes sure of it), bucket by bucket. */
    public void broadcastWeights() {
        Tensor values = arena.values();
        lane.submit(() -> {
            for (int b = 0; b < buckets.size(); b++) {
                GradientBuckets.Bucket bucket = buckets.get(b);
                lane.copy(values, bucket.from(), staging[b], 0, bucket.length());
                comm.broadcast(staging[b].address(), bucket.length(), Element.F32, 0);
                lane.copy(staging[b], 0, values, bucket.from(), bucket.length());
            }
        });
        lane.join();
        arena.valuesChanged(); // a bf16 run's weight copy is made again from rank 0's weights
    }

    /**
     * Called by the last micro-batch's backward pass with each top-level module whose gradients are final;
     * hands every bucket that is now complete to the lane, strictly in bucket order.
     */
    public void finished(String module) {
        if (!exchanging) {
            // The previous step's collectives must be done (or have failed) before this step's are queued: this
            // bounds how far a rank runs ahead, and how long it takes to notice a dead peer.
            exchanging = true;
            lane.settle();
        }
        finishedModules.add(module);
        while (nextBucket < buckets.size() && finishedModules.containsAll(buckets.get(nextBucket).modules())) {
            int b = nextBucket++;
            lane.submit(() -> reduce(b));
        }
    }

    /**
     * Completes the step's exchange: hands over any bucket the backward pass did not report, orders the
     * optimizer after every bucket, and replaces this rank's share of the mean loss in the optimizer's step
     * state with the sum over ranks, so every rank's optimizer sees the global gradients and loss.
     */
    public void finishStep(Tensor stepState) {
        for (GradientBuckets.Bucket b : buckets) finishedModules.addAll(b.modules());
        try {
            finished("");
            lane.join();
        } finally {
            finishedModules.clear();
            nextBucket = 0;
            exchanging = false;
        }
        lane.sumInPlace(arena.ops().view(stepState, StepState.LOSS, 1));
    }

    /** The sum of one value from every rank, added in rank order: the same bits on every rank. */
    public double sumOverRanks(double value) {
        long h = profiler.begin();
        double sum = lane.sumOverRanks(value);
        profiler.end(h, "all_gather_scalar", 8L * comm.size(), 0);
        return sum;
    }

    /** Whether any rank says yes (a stop request must stop every rank at the same step). */
    public boolean anyRank(boolean yes) {
        return sumOverRanks(yes ? 1 : 0) > 0;
    }

    /** Returns once every collective issued so far has finished; fails within the communicator's timeout if one cannot. */
    public void settle() {
        lane.settle();
    }

    /**
     * The optimizer step after {@link #finishStep}: the global norm decides clip and skip through the
     * backend's stepDecision, then AdamW updates every weight (or, with ZeRO-1, this rank's, and the updated
     * weights are all-gathered). Gradients end zero.
     *
     * <p>GPU ranks without ZeRO hold identical reduced gradients, so each decides on its own over the whole
     * arena, on the device, without a wait. Otherwise the norm is this rank's chunks' sum of squares summed
     * over ranks in rank order (a wait for the device on a GPU).
     */
    public void update(AdamW optimizer, double maxNorm) {
        Ops ops = arena.ops();
        if (shard == null && comm.memory() == Communicator.Memory.DEVICE) {
            optimizer.update(maxNorm, true);
            return;
        }
        lane.settle();
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
        long[] at = new long[buckets.size()];
        for (int b = 0; b < at.length; b++) at[b] = owned.get(b).from();
        gather(arena.values(), at, arena.values(), null);
        // AdamW wrote the bf16 weight copy of this rank's chunks only; the others' come with the next refresh.
        arena.valuesChanged();
    }

    /**
     * The whole moments for a checkpoint, on rank 0 (null on the others; every rank calls it): under ZeRO-1
     * gathered from every rank's shard through the buckets' staging buffers, so no rank holds them whole
     * but rank 0, on the host, while it saves.
     */
    public AdamW.Moments gatherMoments(AdamW optimizer) {
        boolean lead = comm.rank() == 0;
        if (shard == null) {
            lane.settle();
            return lead ? optimizer.downloadMoments() : null;
        }
        long[] at = new long[buckets.size()];
        for (int b = 1; b < at.length; b++) at[b] = at[b - 1] + owned.get(b - 1).length();
        float[] m = lead ? new float[Math.toIntExact(arena.size())] : null, v = lead ? new float[m.length] : null;
        gather(shard.first(), at, null, m);
        gather(shard.second(), at, null, v);
        return lead ? new AdamW.Moments(m, v) : null;
    }

    /**
     * Every rank's owned chunks to every rank, bucket by bucket: bucket b's owned part is read from
     * {@code source} at {@code sourceAt[b]}; the gathered bucket is written into {@code target} (arena layout,
     * a backend tensor) and {@code hostTarget} (a host array) where they are not null.
     */
    private void gather(Tensor source, long[] sourceAt, Tensor target, float[] hostTarget) {
        lane.submit(() -> {
            for (int b = 0; b < buckets.size(); b++) {
                GradientBuckets.Bucket bucket = buckets.get(b);
                lane.copy(source, sourceAt[b], staging[b], comm.rank() * bucket.chunk(), owned.get(b).length());
                long h = profiler.begin();
                comm.allGather(staging[b].address(), bucket.chunk(), Element.F32);
                profiler.end(h, "all_gather_weights", 4L * bucket.chunk() * comm.size(), 0);
                if (target != null) lane.copy(staging[b], 0, target, bucket.from(), bucket.length());
            }
        });
        lane.join();
        if (hostTarget == null) return;
        for (int b = 0; b < buckets.size(); b++) {
            GradientBuckets.Bucket bucket = buckets.get(b);
            lane.read(staging[b], 0, hostTarget, Math.toIntExact(bucket.from()), Math.toIntExact(bucket.length()));
        }
    }

    private void reduce(int index) {
        GradientBuckets.Bucket b = buckets.get(index);
        Tensor grads = arena.gradients();
        long chunk = b.chunk();
        ReductionLane.Buffer send = staging[index], mine = chunks[index];
        lane.copy(grads, b.from(), send, 0, b.length());
        long h = profiler.begin();
        comm.reduceScatterSum(send.address(), mine.address(), chunk, Element.F32);
        profiler.end(h, "reduce_scatter", 4L * chunk * comm.size(), (double) chunk * comm.size());
        if (shard != null) {
            // ZeRO-1: only the owned part is needed here, in place in the gradient arena.
            Range r = owned.get(index);
            lane.copy(mine, 0, grads, r.from(), r.length());
            return;
        }
        lane.copy(mine, 0, send, comm.rank() * chunk, chunk);
        h = profiler.begin();
        comm.allGather(send.address(), chunk, Element.F32);
        profiler.end(h, "all_gather", 4L * chunk * comm.size(), 0);
        lane.copy(send, 0, grads, b.from(), b.length());
    }

    @Override
    public void close() {
        lane.close();
    }
}
