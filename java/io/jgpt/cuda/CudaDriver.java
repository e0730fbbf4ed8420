package io.jgpt.cuda;

import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUfunction;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUstream;

/**
 * Every CUDA driver call the backend makes once its context exists, in one seam: {@link JCudaDriverCalls} is
 * the real driver; tests put a recording fake in its place (it runs the backend's control flow without a
 * GPU and fails any synchronisation, allocation or host copy inside a graph capture). Handles are JCuda's
 * objects; the driver fills them in.
 */
interface CudaDriver {

    /** Retains the device's primary context, makes it current and returns the stream all work goes to. */
    CUstream open(int device);

    /** Makes the context current on the calling thread. */
    void makeCurrent();

    /** Loads the kernel module image; {@link #function} then finds kernels in it. */
    void loadModule(byte[] image);

    CUfunction function(String name);

    CUdeviceptr alloc(long bytes);

    void free(CUdeviceptr p);

    /** Free and total device memory in bytes. */
    long[] memoryInfo();

    /** Page-locked host memory, so that a copy from it can run asynchronously. */
    Pointer allocHost(long bytes);

    void freeHost(Pointer p);

    /**
     * A second stream for uploads beside the one {@link #open} returned; it does not order against the legacy
     * default stream, so nothing on it waits for unrelated work.
     */
    CUstream createStream();

    void destroyStream(CUstream s);

    /** Waits for everything queued on the stream. */
    void synchronize(CUstream s);

    /** Work queued on {@code s} after this waits, on the device, for the work before the event's last record. */
    void waitEvent(CUstream s, CUevent e);

    /** A synchronous copy to the host (waits for the copy, and so for the stream's earlier work). */
    void copyToHost(Pointer dst, CUdeviceptr src, long bytes);

    /** A synchronous copy from pageable host memory. */
    void copyToDevice(CUdeviceptr dst, Pointer src, long bytes);

    /** Queues a copy from page-locked host memory. */
    void copyToDeviceAsync(CUdeviceptr dst, Pointer src, long bytes, CUstream s);

    void copyDeviceAsync(CUdeviceptr dst, CUdeviceptr src, long bytes, CUstream s);

    /** Queues setting {@code count} elements of {@code elementBytes} (2 or 4) to zero. */
    void zeroAsync(CUdeviceptr p, long count, int elementBytes, CUstream s);

    void launch(CUfunction f, Launch l, Pointer params, CUstream s);

    CUevent createEvent();

    void destroyEvent(CUevent e);

    void record(CUevent e, CUstream s);

    void synchronize(CUevent e);

    /** Whether the work before the event's record has finished, without waiting. */
    boolean passed(CUevent e);

    float elapsedMillis(CUevent from, CUevent to);

    /** Whether everything queued on the stream has finished, without waiting. */
    boolean idle(CUstream s);

    /** Starts recording the stream's work into a graph instead of running it. */
    void beginCapture(CUstream s);

    /** Stops recording and returns the recorded work, instantiated for replay. */
    CUgraphExec endCapture(CUstream s);

    void launch(CUgraphExec graph, CUstream s);

    void destroy(CUgraphExec graph);

    /** Releases module, stream and primary context. */
    void close(CUstream s);
}
