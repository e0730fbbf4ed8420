package io.jgpt.ops;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Work recorded as a graph ({@link Ops#capture}) for one shape and replayed from then on, recorded again when
 * the shape changes. A shape is whatever the recorded kernels are specific to (sizes, and which allocation of
 * the buffers they read), compared with {@code equals}. On a backend without graphs, or after a capture was
 * refused (a driver or library that cannot capture must not stop the work), {@link #replay} says so and the
 * caller runs the work eagerly.
 */
public final class RecordedWork implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RecordedWork.class);

    private final Ops ops;
    private final String what;
    private Object shape;
    private Ops.Graph graph;
    private boolean refused;

    /** @param what the work, for the warning when its capture is refused ("the training step") */
    public RecordedWork(Ops ops, String what) {
        this.ops = ops;
        this.what = what;
    }

    /**
     * Replays the work recorded for {@code shape}, recording {@code work} first where it is not; false where
     * the caller must run it eagerly instead (no graphs on this backend, or a refused capture).
     */
    public boolean replay(Object shape, Runnable work) {
        if (graph != null && shape.equals(this.shape)) {
            graph.replay();
            return true;
        }
        close();
        if (refused) return false;
        try {
            graph = ops.capture(work);
        } catch (RuntimeException e) {
            LOG.warn("recording {} as a CUDA graph failed ({}); running it eagerly", what, e.getMessage());
            refused = true;
        }
        if (graph == null) return false;
        this.shape = shape;
        graph.replay();
        return true;
    }

    /** Whether a graph is recorded for {@code shape}. */
    public boolean holds(Object shape) {
        return graph != null && shape.equals(this.shape);
    }

    /** Whether a capture was refused: the work runs eagerly from then on. */
    public boolean refused() {
        return refused;
    }

    /** Releases the recorded graph, if any. */
    @Override
    public void close() {
        if (graph != null) graph.close();
        graph = null;
        shape = null;
    }
}
