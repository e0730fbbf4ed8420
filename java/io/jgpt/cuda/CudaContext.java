package io.jgpt.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.Map;
import jcuda.CudaException;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUfunction;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUstream;

/**
 * One device's primary context (the one the CUDA runtime, and so cuBLAS, also uses), one stream all work is
 * queued on, the kernel module, and checked memory allocation, copies and kernel launches, all through one
 * {@link CudaDriver}.
 *
 * <p>The context is made current on whichever thread calls in, so the backend may be driven from a thread
 * other than the one that created it (though never from two threads at once).
 */
final class CudaContext implements AutoCloseable {

    /** Set -Djgpt.cuda.sync=true to synchronise after every launch, so faults name the kernel that caused them. */
    private static final boolean SYNC_EACH_LAUNCH = Boolean.getBoolean("jgpt.cuda.sync");

    final int index;
    private final CudaDriver driver;
    private final CUstream stream;
    private final Map<String, CUfunction> functions = new HashMap<>();
    private Thread current;
    private boolean capturing;
    private boolean closed;

    CudaContext(int index) {
        this(new JCudaDriverCalls(), index, readKernels());
    }

    /** On a given driver (tests pass a recording fake) with the given kernel image. */
    CudaContext(CudaDriver driver, int index, byte[] kernels) {
        this.index = index;
        this.driver = driver;
        stream = driver.open(index);
        current = Thread.currentThread();
        try {
            driver.loadModule(kernels);
        } catch (RuntimeException e) {
            driver.close(stream);
            throw e;
        }
    }

    private static byte[] readKernels() {
        try (InputStream in = CudaContext.class.getResourceAsStream(CudaDevice.FATBIN)) {
            if (in == null) throw new IllegalStateException(CudaDevice.KERNELS_MISSING);
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + CudaDevice.FATBIN, e);
        }
    }

    CUstream stream() {
        return stream;
    }

    CudaDriver driver() {
        ensureCurrent();
        return driver;
    }

    /** Makes this context current on the calling thread if it is not already. */
    void ensureCurrent() {
        if (current != Thread.currentThread()) {
            driver.makeCurrent();
            current = Thread.currentThread();
        }
    }

    void synchronize() {
        ensureCurrent();
        driver.synchronize(stream);
    }

    CUdeviceptr alloc(long bytes) {
        ensureCurrent();
        return driver.alloc(bytes);
    }

    /** Frees after the stream drains, so no queued kernel can still be using the memory. */
    void free(CUdeviceptr p) {
        if (closed) return; // releasing the context released the memory
        synchronize();
        driver.free(p);
    }

    /** Free and total device memory in bytes. */
    long[] memoryInfo() {
        ensureCurrent();
        return driver.memoryInfo();
    }

    /** Waits for the stream, then copies device memory into a host array. */
    void copyToHost(Pointer dst, CUdeviceptr src, long bytes) {
        synchronize();
        driver.copyToHost(dst, src, bytes);
    }

    /** Waits for the stream (queued kernels may still read the old contents), then copies host data in. */
    void copyToDevice(CUdeviceptr dst, Pointer src, long bytes) {
        synchronize();
        driver.copyToDevice(dst, src, bytes);
    }

    /** Queues kernel {@code name} on the stream with arguments packed by {@link Kernels}. */
    void launch(String name, Launch l, KernelArgs args) {
        ensureCurrent();
        CUfunction f = functions.computeIfAbsent(name, driver::function);
        try {
            driver.launch(f, l, args.pointer(), stream);
            if (SYNC_EACH_LAUNCH && !capturing) driver.synchronize(stream);
        } catch (CudaException e) {
            throw new CudaException("kernel " + name + " grid " + l.gridX() + " block (" + l.blockX() + ","
                    + l.blockY() + ") args " + args + " failed: " + e.getMessage(), e);
        }
    }

    /**
     * Records what {@code work} queues on the stream, without running it, as a graph to replay with
     * {@link #replay}. Work that would wait for the device, allocate or copy from the host fails the capture
     * (the driver refuses it): every input the graph reads must already be in device memory.
     */
    CUgraphExec capture(Runnable work) {
        ensureCurrent();
        if (capturing) throw new IllegalStateException("already capturing a graph");
        driver.beginCapture(stream);
        capturing = true;
        CUgraphExec graph;
        try {
            work.run();
        } catch (RuntimeException e) {
            capturing = false;
            try {
                driver.destroy(driver.endCapture(stream));
            } catch (RuntimeException ignored) {
                // the capture is already invalid; the first error is the one to report
            }
            throw e;
        }
        capturing = false;
        graph = driver.endCapture(stream);
        return graph;
    }

    boolean capturing() {
        return capturing;
    }

    void replay(CUgraphExec graph) {
        ensureCurrent();
        driver.launch(graph, stream);
    }

    void destroy(CUgraphExec graph) {
        if (closed) return;
        ensureCurrent();
        driver.destroy(graph);
    }

    CUevent createEvent() {
        ensureCurrent();
        return driver.createEvent();
    }

    @Override
    public void close() {
        if (closed) return;
        synchronize();
        closed = true;
        driver.close(stream);
    }
}
