package io.jgpt.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Copies (in, out) weight matrices into {@link WeightMatrix.Layout#PANELS} order on a background thread and
 * hands each copy to its matrix as soon as it is made; a mapped source's pages then leave the process's
 * memory, so the peak holds the weights once plus one matrix.
 *
 * <p>Why a copy: the in-place (in, out) kernel streamed a Hugging Face checkpoint's Conv1D weights from the
 * mapped file at 18-20 GB/s on this project's 2-core VMs, the panel copies at 28-29 GB/s. Why in the
 * background: copying GPT-2 small's 340 MB of them takes 0.45-0.7 s of a core, which the first token should
 * not wait for. The panel kernel adds the same products in the same order as the in-place one, so a product
 * may switch to the copy at any time and decoding stays deterministic.
 */
public final class PanelPacking implements AutoCloseable {

    /** Calls of the panel kernel on a small copy before the first hand-over, so that it is compiled by then. */
    private static final int WARM_UP_CALLS = 800;

    private final List<WeightMatrix> matrices;
    private final Arena arena = Arena.ofShared();
    private final CompletableFuture<Void> done = new CompletableFuture<>();
    private volatile boolean stopped;
    private Thread thread;

    /** @param matrices the matrices to copy, in the order to copy them; those that are not {@link WeightMatrix#packable} are left alone */
    public PanelPacking(List<WeightMatrix> matrices) {
        this.matrices = matrices.stream().filter(WeightMatrix::packable).toList();
        if (this.matrices.isEmpty()) done.complete(null);
    }

    /** How many matrices get a panel copy. */
    public int count() {
        return matrices.size();
    }

    /** Starts the copying thread, once; later calls do nothing. */
    public synchronized void start() {
        if (thread != null || matrices.isEmpty() || stopped) return;
        thread = Thread.ofPlatform().daemon().name("jgpt-panel-packing").start(this::run);
    }

    /** Completes when every matrix streams its copy (exceptionally if the copying failed). */
    public CompletableFuture<Void> done() {
        return done;
    }

    private void run() {
        try {
            warmUp(matrices.get(0));
            for (WeightMatrix m : matrices) {
                if (stopped) return;
                m.usePanels(pack(m, arena));
                // Products that started before the hand-over may still read these pages: they fault back in.
                if (m.data().isMapped()) m.data().unload();
            }
            done.complete(null);
        } catch (Throwable t) {
            done.completeExceptionally(t);
        }
    }

    /** A panel copy of {@code m} in {@code arena}'s memory ({@link WeightMatrix#panelIndex}); source rows are read in order, each once. */
    static WeightMatrix pack(WeightMatrix m, Arena arena) {
        if (!m.packable()) throw new IllegalArgumentException("a " + m.layout() + " " + m.in() + " x " + m.out() + " matrix has no panel copy");
        int in = m.in(), out = m.out(), p = WeightMatrix.panelWidth(), bytes = m.type().bytes();
        MemorySegment src = m.data(), dst = HugePages.allocate(arena, m.bytes());
        for (int i = 0; i < in; i++) {
            for (int o = 0; o < out; o += p) {
                MemorySegment.copy(src, ((long) i * out + o) * bytes, dst, WeightMatrix.panelIndex(in, i, o) * bytes, (long) p * bytes);
            }
        }
        return new WeightMatrix(dst, in, out, WeightMatrix.Layout.PANELS, m.type());
    }

    /** Runs the panel kernel on a copy of a corner of {@code sample} (native memory, like the real copies). */
    private void warmUp(WeightMatrix sample) {
        int in = Math.min(sample.in(), 37), out = 2 * WeightMatrix.panelWidth(); // one pair of panels
        WeightMatrix small = pack(sample.corner(in, out), arena);
        float[] x = new float[4 * in], y = new float[4 * out], bias = new float[out];
        try (Parallel one = new Parallel(1)) {
            MatVec product = new MatVec(one);
            for (int i = 0; i < WARM_UP_CALLS && !stopped; i++) {
                product.multiply(small, bias, x, y, 1);
                product.multiply(small, bias, x, y, 4);
            }
        }
    }

    /** Stops the copying (a matrix in progress is finished) and frees the copies; call after the last product. */
    @Override
    public void close() {
        Thread t;
        synchronized (this) {
            stopped = true;
            t = thread;
        }
        if (t != null) Joins.uninterruptibly(t);
        done.cancel(false); // nobody waits forever on copies that will not come
        arena.close();
    }
}
