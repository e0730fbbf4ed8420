package io.jgpt.cpu;

import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntConsumer;

/**
 * The CPU backend's workers: the calling thread and {@code threads - 1} helpers share each piece of work.
 * Work is always cut into the same pieces whatever the thread count, so every result (including
 * floating-point reductions done per piece) is identical with 1 or N threads.
 *
 * <p>Why not a {@link java.util.concurrent.ForkJoinPool}: decoding one token is about 200 parallel products
 * of 50-300 µs each, and waking a parked pool worker took 14-27 µs on this project's 2-core VMs, while the
 * caller sat idle waiting for it. Here the caller works on the pieces itself, and a helper keeps polling for
 * the next piece of work for {@link #SPIN_NANOS} after each one (a hand-off of well under a microsecond
 * while the kernels come back to back) before it parks.
 */
final class Parallel implements AutoCloseable {

    /** Receives one half-open range [from, to) of a split index space. */
    @FunctionalInterface
    interface RangeBody {
        void run(int from, int to);
    }

    /** How long an idle helper polls before it parks: longer than the gaps between the kernels of a step. */
    private static final long SPIN_NANOS = 200_000;

    /** Stops the helpers of a Parallel that became unreachable without being closed. */
    private static final Cleaner CLEANER = Cleaner.create();

    private final int threads;
    /** What the helpers see: they hold it, not this object, so an unclosed Parallel can still be collected. */
    private final Team team;
    /** Held by the thread whose work the helpers share; another caller, or a nested call, runs alone. */
    private final ReentrantLock owner = new ReentrantLock();

    Parallel(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        this.threads = threads;
        team = new Team(threads - 1);
        CLEANER.register(this, team::close);
    }

    int threads() {
        return threads;
    }

    /** Runs {@code body.accept(i)} for every i in [0, n), spread over the workers; returns when all are done. */
    void forEach(int n, IntConsumer body) {
        if (n <= 0) return;
        // A single piece, no helpers, or work started from inside a piece (the caller's own or a helper's) or
        // from a second thread while the helpers are busy: the caller runs the pieces itself, in order.
        if (n == 1 || team.helpers.length == 0 || owner.isHeldByCurrentThread() || !owner.tryLock()) {
            for (int i = 0; i < n; i++) body.accept(i);
            return;
        }
        try {
            Job j = team.publish(n, body);
            j.work();
            j.awaitDone();
            team.job = null; // a finished job must not keep its body (and what that holds) reachable
        } finally {
            owner.unlock();
        }
    }

    /** Cuts [0, n) into consecutive ranges of {@code grain} elements (the last may be shorter). */
    void forRange(int n, int grain, RangeBody body) {
        int pieces = Math.ceilDiv(n, grain);
        forEach(pieces, p -> body.run(p * grain, Math.min(n, (p + 1) * grain)));
    }

    @Override
    public void close() {
        team.close();
    }

    /** One call's pieces: whoever is free takes the next one. */
    private static final class Job {
        private final long id;
        private final int n;
        private final IntConsumer body;
        private final AtomicInteger next = new AtomicInteger();
        private final AtomicInteger done = new AtomicInteger();
        private volatile Throwable failure;

        Job(long id, int n, IntConsumer body) {
            this.id = id;
            this.n = n;
            this.body = body;
        }

        void work() {
            for (int i; (i = next.getAndIncrement()) < n; ) {
                try {
                    if (failure == null) body.accept(i);
                } catch (Throwable t) {
                    if (failure == null) failure = t;
                } finally {
                    done.incrementAndGet();
                }
            }
        }

        /** Waits for the pieces other threads took, then rethrows the first failure of any piece. */
        void awaitDone() {
            while (done.get() < n) Thread.onSpinWait();
            Throwable t = failure;
            if (t instanceof RuntimeException e) throw e;
            if (t instanceof Error e) throw e;
            if (t != null) throw new IllegalStateException(t);
        }
    }

    /** The helper threads and the job in progress (null between jobs); helpers tell jobs apart by id. */
    private static final class Team {
        final Helper[] helpers;
        volatile Job job;
        volatile boolean closed;
        private long jobs; // written by the thread holding the owner lock only

        Team(int count) {
            helpers = new Helper[count];
            for (int i = 0; i < count; i++) {
                helpers[i] = new Helper(this);
                helpers[i].thread = Thread.ofPlatform().daemon().name("jgpt-cpu-" + (i + 1)).start(helpers[i]);
            }
        }

        Job publish(int n, IntConsumer body) {
            Job j = new Job(++jobs, n, body);
            job = j;
            for (Helper h : helpers) {
                if (h.parked) LockSupport.unpark(h.thread);
            }
            return j;
        }

        void close() {
            closed = true;
            for (Helper h : helpers) LockSupport.unpark(h.thread);
        }
    }

    private static final class Helper implements Runnable {
        private final Team team;
        Thread thread;
        volatile boolean parked;

        Helper(Team team) {
            this.team = team;
        }

        @Override
        public void run() {
            long last = 0; // the id of the last job taken; ids start at 1
            while (!team.closed) {
                long took = workOnNewJob(last);
                if (took != last) {
                    last = took;
                    continue;
                }
                long idleSince = System.nanoTime();
                while (!hasNewJob(last) && !team.closed && System.nanoTime() - idleSince < SPIN_NANOS) Thread.onSpinWait();
                if (hasNewJob(last) || team.closed) continue;
                // Publish "parked" before looking at job once more: the caller writes job before it reads
                // parked, so either it sees parked and unparks, or this thread sees the new job.
                parked = true;
                if (!hasNewJob(last) && !team.closed) LockSupport.park(this);
                parked = false;
            }
        }

        /** Works on the job in progress if it is not the one with id {@code last}; returns the id of the job taken, else last. */
        private long workOnNewJob(long last) {
            Job j = team.job;
            if (j == null || j.id == last) return last;
            j.work();
            return j.id;
        }

        private boolean hasNewJob(long last) {
            Job j = team.job;
            return j != null && j.id != last;
        }
    }
}
