package io.jgpt.cuda;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuDeviceGetCount;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRelease;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventElapsedTime;
import static jcuda.driver.JCudaDriver.cuEventQuery;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;
import static jcuda.driver.JCudaDriver.cuGraphDestroy;
import static jcuda.driver.JCudaDriver.cuGraphExecDestroy;
import static jcuda.driver.JCudaDriver.cuGraphInstantiate;
import static jcuda.driver.JCudaDriver.cuGraphLaunch;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemAllocHost;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemFreeHost;
import static jcuda.driver.JCudaDriver.cuMemGetInfo;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoDAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;
import static jcuda.driver.JCudaDriver.cuMemsetD16Async;
import static jcuda.driver.JCudaDriver.cuMemsetD32Async;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;
import static jcuda.driver.JCudaDriver.cuModuleUnload;
import static jcuda.driver.JCudaDriver.cuStreamBeginCapture;
import static jcuda.driver.JCudaDriver.cuStreamCreate;
import static jcuda.driver.JCudaDriver.cuStreamDestroy;
import static jcuda.driver.JCudaDriver.cuStreamEndCapture;
import static jcuda.driver.JCudaDriver.cuStreamQuery;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;
import static jcuda.driver.JCudaDriver.cuStreamWaitEvent;

import jcuda.CudaException;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUfunction;
import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;
import jcuda.driver.CUstreamCaptureMode;
import jcuda.driver.CUstream_flags;

/** {@link CudaDriver} on JCuda's driver binding (exceptions enabled: a failing call throws CudaException). */
final class JCudaDriverCalls implements CudaDriver {

    private final CUcontext context = new CUcontext();
    private final CUmodule module = new CUmodule();
    private CUdevice device;

    @Override
    public CUstream open(int index) {
        CudaDevice.init();
        int[] count = new int[1];
        cuDeviceGetCount(count);
        if (index < 0 || index >= count[0])
            throw new IllegalArgumentException("no CUDA device " + index + " (" + count[0] + " present)");
        device = CudaDevice.device(index);
        cuDevicePrimaryCtxRetain(context, device);
        try {
            makeCurrent();
            CUstream stream = new CUstream();
            // A blocking stream: it also orders against the legacy default stream that the synchronous
            // cuMemcpy calls use.
            cuStreamCreate(stream, CUstream_flags.CU_STREAM_DEFAULT);
            return stream;
        } catch (RuntimeException e) {
            cuDevicePrimaryCtxRelease(device);
            throw e;
        }
    }

    @Override
    public void makeCurrent() {
        cuCtxSetCurrent(context);
    }

    @Override
    public void loadModule(byte[] image) {
        cuModuleLoadData(module, image);
    }

    @Override
    public CUfunction function(String name) {
        CUfunction f = new CUfunction();
        cuModuleGetFunction(f, module, name);
        return f;
    }

    @Override
    public CUdeviceptr alloc(long bytes) {
        CUdeviceptr p = new CUdeviceptr();
        try {
            cuMemAlloc(p, bytes);
        } catch (CudaException e) {
            if (!String.valueOf(e.getMessage()).contains("CUDA_ERROR_OUT_OF_MEMORY")) throw e;
            long[] info = memoryInfo();
            throw new CudaOutOfMemoryException(bytes, info[0], info[1]);
        }
        return p;
    }

    @Override
    public void free(CUdeviceptr p) {
        cuMemFree(p);
    }

    @Override
    public long[] memoryInfo() {
        long[] free = new long[1], total = new long[1];
        cuMemGetInfo(free, total);
        return new long[] {free[0], total[0]};
    }

    @Override
    public Pointer allocHost(long bytes) {
        Pointer p = new Pointer();
        cuMemAllocHost(p, bytes);
        return p;
    }

    @Override
    public void freeHost(Pointer p) {
        cuMemFreeHost(p);
    }

    @Override
    public CUstream createStream() {
        CUstream stream = new CUstream();
        cuStreamCreate(stream, CUstream_flags.CU_STREAM_NON_BLOCKING);
        return stream;
    }

    @Override
    public void destroyStream(CUstream s) {
        cuStreamDestroy(s);
    }

    @Override
    public void synchronize(CUstream s) {
        cuStreamSynchronize(s);
    }

    @Override
    public void waitEvent(CUstream s, CUevent e) {
        cuStreamWaitEvent(s, e, 0);
    }

    @Override
    public void copyToHost(Pointer dst, CUdeviceptr src, long bytes) {
        cuMemcpyDtoH(dst, src, bytes);
    }

    @Override
    public void copyToDevice(CUdeviceptr dst, Pointer src, long bytes) {
        cuMemcpyHtoD(dst, src, bytes);
    }

    @Override
    public void copyToDeviceAsync(CUdeviceptr dst, Pointer src, long bytes, CUstream s) {
        cuMemcpyHtoDAsync(dst, src, bytes, s);
    }

    @Override
    public void copyDeviceAsync(CUdeviceptr dst, CUdeviceptr src, long bytes, CUstream s) {
        cuMemcpyDtoDAsync(dst, src, bytes, s);
    }

    @Override
    public void zeroAsync(CUdeviceptr p, long count, int elementBytes, CUstream s) {
        if (elementBytes == 2) cuMemsetD16Async(p, (short) 0, count, s);
        else cuMemsetD32Async(p, 0, count, s);
    }

    @Override
    public void launch(CUfunction f, Launch l, Pointer params, CUstream s) {
        cuLaunchKernel(f, l.gridX(), 1, 1, l.blockX(), l.blockY(), 1, l.sharedBytes(), s, params, null);
    }

    @Override
    public CUevent createEvent() {
        CUevent e = new CUevent();
        cuEventCreate(e, CUevent_flags.CU_EVENT_DEFAULT);
        return e;
    }

    @Override
    public void destroyEvent(CUevent e) {
        cuEventDestroy(e);
    }

    @Override
    public void record(CUevent e, CUstream s) {
        cuEventRecord(e, s);
    }

    @Override
    public void synchronize(CUevent e) {
        cuEventSynchronize(e);
    }

    @Override
    public boolean passed(CUevent e) {
        return ready(() -> cuEventQuery(e));
    }

    /** Runs a query that fails with CUDA_ERROR_NOT_READY (thrown, exceptions being on) while work is pending. */
    private static boolean ready(java.util.function.IntSupplier query) {
        try {
            query.getAsInt();
            return true;
        } catch (CudaException notYet) {
            if (String.valueOf(notYet.getMessage()).contains("CUDA_ERROR_NOT_READY")) return false;
            throw notYet;
        }
    }

    @Override
    public float elapsedMillis(CUevent from, CUevent to) {
        float[] ms = new float[1];
        cuEventElapsedTime(ms, from, to);
        return ms[0];
    }

    @Override
    public boolean idle(CUstream s) {
        return ready(() -> cuStreamQuery(s));
    }

    @Override
    public void beginCapture(CUstream s) {
        // Global mode: any unsafe call (a synchronous copy, an allocation) from any thread fails the capture.
        cuStreamBeginCapture(s, CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_GLOBAL);
    }

    @Override
    public CUgraphExec endCapture(CUstream s) {
        CUgraph graph = new CUgraph();
        cuStreamEndCapture(s, graph);
        try {
            CUgraphExec exec = new CUgraphExec();
            cuGraphInstantiate(exec, graph, 0);
            return exec;
        } finally {
            cuGraphDestroy(graph);
        }
    }

    @Override
    public void launch(CUgraphExec graph, CUstream s) {
        cuGraphLaunch(graph, s);
    }

    @Override
    public void destroy(CUgraphExec graph) {
        cuGraphExecDestroy(graph);
    }

    @Override
    public void close(CUstream s) {
        cuModuleUnload(module);
        cuStreamDestroy(s);
        cuDevicePrimaryCtxRelease(device);
    }
}
