package io.jgpt.cuda;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUstream;

/**
 * Small host-to-device copies (token batches, targets, dropout keys, the learning rate) that neither the host
 * nor the compute stream waits for, uploaded on a copy stream of their own. The data goes into one of a ring of
 * page-locked buffers; the copy stream uploads it into the slot's landing buffer on the device; the compute
 * stream waits for that upload through an event (on the device, never the host) and copies the data on into
 * its destination. That last copy is in the compute stream's order — after the work queued before the write,
 * before the work queued after it — so kernels see exactly the data written before them, while the upload
 * itself runs beside whatever the compute stream is doing: the next step's batch travels during this step.
 *
 * <p>Each slot's buffers are reused under two events: the host refills its page-locked buffer once the upload
 * from it has run ({@code uploaded}, normally long passed), and the copy stream overwrites its landing buffer
 * only after the compute stream has copied the previous contents out ({@code drained}), which with 8 slots is
 * a few writes, a step or more, back: never the step in flight.
 */
final class HostStaging implements AutoCloseable {

    /** Bytes per slot; larger writes (weights) take the synchronous path. A 64 x 1024 token batch is 256 KiB. */
    static final int SLOT_BYTES = 1 << 20;
    private static final int SLOTS = 8;

    private final CudaContext ctx;
    private CUstream copyStream;
    private final Pointer[] host = new Pointer[SLOTS];
    private final ByteBuffer[] view = new ByteBuffer[SLOTS];
    private final CUdeviceptr[] landing = new CUdeviceptr[SLOTS];
    private final CUevent[] uploaded = new CUevent[SLOTS];
    private final CUevent[] drained = new CUevent[SLOTS];
    private final boolean[] used = new boolean[SLOTS];
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

    /** The next slot's page-locked buffer, once the upload from it has run. */
    private ByteBuffer slot(long bytes) {
        if (!fits(bytes)) throw new IllegalArgumentException(bytes + " bytes do not fit a staging slot of " + SLOT_BYTES);
        CudaDriver d = ctx.driver();
        if (copyStream == null) open(d);
        int s = next;
        if (used[s] && !d.passed(uploaded[s])) d.synchronize(uploaded[s]);
        return view[s].clear();
    }

    /** The copy stream and the whole ring, at the first write (so that no later write allocates). */
    private void open(CudaDriver d) {
        copyStream = d.createStream();
        for (int s = 0; s < SLOTS; s++) {
            host[s] = d.allocHost(SLOT_BYTES);
            view[s] = host[s].getByteBuffer(0, SLOT_BYTES).order(ByteOrder.nativeOrder());
            landing[s] = ctx.alloc(SLOT_BYTES);
            uploaded[s] = d.createEvent();
            drained[s] = d.createEvent();
        }
    }

    private void queue(CUdeviceptr dst, long bytes) {
        CudaDriver d = ctx.driver();
        int s = next;
        if (used[s]) d.waitEvent(copyStream, drained[s]); // the compute stream has copied the last contents out
        d.copyToDeviceAsync(landing[s], host[s], bytes, copyStream);
        d.record(uploaded[s], copyStream);
        d.waitEvent(ctx.stream(), uploaded[s]);
        d.copyDeviceAsync(dst, landing[s], bytes, ctx.stream());
        d.record(drained[s], ctx.stream());
        used[s] = true;
        next = (next + 1) % SLOTS;
    }

    @Override
    public void close() {
        if (copyStream == null) return;
        CudaDriver d = ctx.driver();
        d.synchronize(copyStream);
        for (int s = 0; s < SLOTS; s++) {
            ctx.free(landing[s]); // after the compute stream, and so every copy out of it, has drained
            d.destroyEvent(uploaded[s]);
            d.destroyEvent(drained[s]);
            d.freeHost(host[s]);
        }
        d.destroyStream(copyStream);
        copyStream = null;
    }
}
