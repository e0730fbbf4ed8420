package io.jgpt.cuda;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRelease;
import static jcuda.driver.JCudaDriver.cuDeviceGetCount;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemGetInfo;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;
import static jcuda.driver.JCudaDriver.cuModuleUnload;
import static jcuda.driver.JCudaDriver.cuStreamCreate;
import static jcuda.driver.JCudaDriver.cuStreamDestroy;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.Map;
import jcuda.CudaException;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;

/**
 * One device's primary context (the one the CUDA runtime, and so cuBLAS, also uses), one stream all work is
 * queued on, the kernel module, and checked memory allocation and kernel launches.
 *
 * <p>The context is made current on whichever thread calls in, so the backend may be driven from a thread
 * other than the one that created it (though never from two threads at once).
 */
final class CudaContext implements AutoCloseable {

    /** Set -Djgpt.cuda.sync=true to synchronise after every launch, so faults name the kernel that caused them. */
    private static final boolean SYNC_EACH_LAUNCH = Boolean.getBoolean("jgpt.cuda.sync");

    final int index;
    private final CUdevice device;
    private final CUcontext context = new CUcontext();
    private final CUstream stream = new CUstream();
    private final CUmodule module = new CUmodule();
    private final Map<String, CUfunction> functions = new HashMap<>();
    private Thread current;
    private boolean closed;

    CudaContext(int index) {
        this.index = index;
        CudaDevice.init();
        int[] count = new int[1];
        cuDeviceGetCount(count);
        if (index < 0 || index >= count[0])
            throw new IllegalArgumentException("no CUDA device " + index + " (" + count[0] + " present)");
        byte[] fatbin = readKernels();
        device = CudaDevice.device(index);
        cuDevicePrimaryCtxRetain(context, device);
        try {
            ensureCurrent();
            // A blocking stream: it also orders against the legacy default stream that the synchronous
            // cuMemcpy calls use.
            cuStreamCreate(stream, CUstream_flags.CU_STREAM_DEFAULT);
            cuModuleLoadData(module, fatbin);
        } catch (RuntimeException e) {
            cuDevicePrimaryCtxRelease(device);
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

    /** Makes this context current on the calling thread if it is not already. */
    void ensureCurrent() {
        if (current != Thread.currentThread()) {
            cuCtxSetCurrent(context);
            current = Thread.currentThread();
        }
    }

    void synchronize() {
        ensureCurrent();
        cuStreamSynchronize(stream);
    }

    CUdeviceptr alloc(long bytes) {
        ensureCurrent();
        CUdeviceptr p = new CUdeviceptr();
        try {
            cuMemAlloc(p, bytes);
        } catch (CudaException e) {
            if (!String.valueOf(e.getMessage()).contains("CUDA_ERROR_OUT_OF_MEMORY")) throw e;
            long[] free = new long[1], total = new long[1];
            cuMemGetInfo(free, total);
            throw new CudaOutOfMemoryException(bytes, free[0], total[0]);
        }
        return p;
    }

    /** Frees after the stream drains, so no queued kernel can still be using the memory. */
    void free(CUdeviceptr p) {
        if (closed) return; // releasing the context released the memory
        synchronize();
        cuMemFree(p);
    }

    /** Free and total device memory in bytes. */
    long[] memoryInfo() {
        ensureCurrent();
        long[] free = new long[1], total = new long[1];
        cuMemGetInfo(free, total);
        return new long[] {free[0], total[0]};
    }

    /** Queues kernel {@code name} on the stream with arguments packed by {@link Kernels}. */
    void launch(String name, Launch l, KernelArgs args) {
        ensureCurrent();
        CUfunction f = functions.computeIfAbsent(name, this::function);
        try {
            cuLaunchKernel(f, l.gridX(), 1, 1, l.blockX(), l.blockY(), 1, l.sharedBytes(), stream, args.pointer(),
                    null);
            if (SYNC_EACH_LAUNCH) cuStreamSynchronize(stream);
        } catch (CudaException e) {
            throw new CudaException("kernel " + name + " grid " + l.gridX() + " block (" + l.blockX() + ","
                    + l.blockY() + ") args " + args + " failed: " + e.getMessage(), e);
        }
    }

    private CUfunction function(String name) {
        CUfunction f = new CUfunction();
        cuModuleGetFunction(f, module, name);
        return f;
    }

    @Override
    public void close() {
        if (closed) return;
        synchronize();
        cuModuleUnload(module);
        cuStreamDestroy(stream);
        closed = true;
        cuDevicePrimaryCtxRelease(device);
    }
}
