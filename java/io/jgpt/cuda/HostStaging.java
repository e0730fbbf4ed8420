package io.jgpt.cuda;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;

/**
 * Small host-to-device copies without waiting for the device: the data is put in one of a ring of page-locked
 * buffers and the copy is queued on the stream, so it lands after the work queued before it and before the
 * work queued after it (token batches, targets, the learning rate: a training step never waits). A buffer is
 * reused only once the event recorded after its copy has passed, which normally it long has.
 */
final class HostStaging implements AutoCloseable {

    /** Bytes per slot; larger writes (weights) take the synchronous path. A 64 x 1024 token batch is 256 KiB. */
    static final int SLOT_BYTES = 1 << 20;
    private static final int SLOTS = 8;

    private final CudaContext ctx;
    private final Pointer[] host = new Pointer[SLOTS];
    private final ByteBuffer[] view = new ByteBuffer[SLOTS];
    private final CUevent[] done = new CUevent[SLOTS];
    private final boolean[] pending = new boolean[SLOTS];
    private int next;

    HostStaging(CudaContext ctx) {
        this.ctx = ctx;
    }

    static boolean fits(long bytes) {
        return bytes <= SLOT_BYTES;
    }

    void copy(CUdeviceptr dst, float[] src) {
        ByteBuffer b = slot(4L * src.length);
        b.asFloatBuffer().put(src);
        queue(dst, 4L * src.length);
    }

    void copy(CUdeviceptr dst, long[] src) {
        ByteBuffer b = slot(8L * src.length);
        b.asLongBuffer().put(src);
        queue(dst, 8L * src.length);
    }

    void copy(CUdeviceptr dst, int[] src) {
        ByteBuffer b = slot(4L * src.length);
        b.asIntBuffer().put(src);
        queue(dst, 4L * src.length);
    }

    /** The next slot's buffer, once its previous copy has run. */
    private ByteBuffer slot(long bytes) {
        if (!fits(bytes)) throw new IllegalArgumentException(bytes + " bytes do not fit a staging slot of " + SLOT_BYTES);
        CudaDriver d = ctx.driver();
        int s = next;
        if (host[s] == null) {
            host[s] = d.allocHost(SLOT_BYTES);
            view[s] = host[s].getByteBuffer(0, SLOT_BYTES).order(ByteOrder.nativeOrder());
            done[s] = d.createEvent();
        } else if (pending[s] && !d.passed(done[s])) {
            d.synchronize(done[s]);
        }
        pending[s] = false;
        return view[s].clear();
    }

    private void queue(CUdeviceptr dst, long bytes) {
        CudaDriver d = ctx.driver();
        int s = next;
        d.copyToDeviceAsync(dst, host[s], bytes, ctx.stream());
        d.record(done[s], ctx.stream());
        pending[s] = true;
        next = (next + 1) % SLOTS;
    }

    @Override
    public void close() {
        CudaDriver d = ctx.driver();
        for (int s = 0; s < SLOTS; s++) {
            if (host[s] == null) continue;
            if (pending[s]) d.synchronize(done[s]);
            d.destroyEvent(done[s]);
            d.freeHost(host[s]);
            host[s] = null;
        }
    }
}
