package io.jgpt.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;
import java.util.function.IntConsumer;

/**
 * The CPU backend's worker pool. Work is always cut into the same pieces whatever the thread count, so
 * every result (including floating-point reductions done per piece) is identical with 1 or N threads.
 */
final class Parallel implements AutoCloseable {

    /** Receives one half-open range [from, to) of a split index space. */
    @FunctionalInterface
    interface RangeBody {
        void run(int from, int to);
    }

    private final int threads;
    private final ForkJoinPool pool; // null: run on the caller, no hand-off cost

    Parallel(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        this.threads = threads;
        this.pool = threads > 1 ? new ForkJoinPool(threads) : null;
    }

    int threads() {
        return threads;
    }

    /** Runs {@code body.accept(i)} for every i in [0, n), spread over the workers; returns when all are done. */
    void forEach(int n, IntConsumer body) {
        if (n <= 0) return;
        if (pool == null || n == 1) {
            for (int i = 0; i < n; i++) body.accept(i);
        } else {
            pool.invoke(new Split(0, n, body));
        }
    }

    /** Cuts [0, n) into consecutive ranges of {@code grain} elements (the last may be shorter). */
    void forRange(int n, int grain, RangeBody body) {
        int pieces = Math.ceilDiv(n, grain);
        forEach(pieces, p -> body.run(p * grain, Math.min(n, (p + 1) * grain)));
    }

    @Override
    public void close() {
        if (pool != null) pool.shutdown();
    }

    /** Binary splitting lets idle workers steal large halves instead of queueing n tiny tasks up front. */
    private static final class Split extends RecursiveAction {
        private final int from, to;
        private final IntConsumer body;

        Split(int from, int to, IntConsumer body) {
            this.from = from;
            this.to = to;
            this.body = body;
        }

        @Override
        protected void compute() {
            if (to - from == 1) {
                body.accept(from);
                return;
            }
            int mid = (from + to) >>> 1;
            invokeAll(new Split(from, mid, body), new Split(mid, to, body));
        }
    }
}
