package io.jgpt.cuda.blas;

import static jcuda.driver.JCudaDriver.*;

import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;
import org.junit.jupiter.api.Assumptions;

/** Device 0's primary context and one stream for the binding tests, which abort where there is no GPU. */
final class TestDevice implements AutoCloseable {

    final CUstream stream = new CUstream();
    private final CUdevice device = new CUdevice();

    private TestDevice() {
        cuDeviceGet(device, 0);
        CUcontext ctx = new CUcontext();
        cuDevicePrimaryCtxRetain(ctx, device);
        cuCtxSetCurrent(ctx);
        cuStreamCreate(stream, 0);
    }

    static TestDevice open() {
        String why = null;
        try {
            JCudaDriver.setExceptionsEnabled(true);
            cuInit(0);
            int[] count = new int[1];
            cuDeviceGetCount(count);
            if (count[0] == 0) why = "no CUDA device";
        } catch (Throwable t) {
            why = "CUDA driver unavailable: " + t;
        }
        Assumptions.assumeTrue(why == null, why);
        return new TestDevice();
    }

    CUdeviceptr upload(float[] x) {
        CUdeviceptr d = alloc(4L * x.length);
        cuMemcpyHtoD(d, Pointer.to(x), 4L * x.length);
        return d;
    }

    CUdeviceptr upload(short[] x) {
        CUdeviceptr d = alloc(2L * x.length);
        cuMemcpyHtoD(d, Pointer.to(x), 2L * x.length);
        return d;
    }

    CUdeviceptr alloc(long bytes) {
        CUdeviceptr d = new CUdeviceptr();
        cuMemAlloc(d, bytes);
        return d;
    }

    void sync() {
        cuStreamSynchronize(stream);
    }

    float[] floats(CUdeviceptr d, int n) {
        sync();
        float[] x = new float[n];
        cuMemcpyDtoH(Pointer.to(x), d, 4L * n);
        return x;
    }

    short[] shorts(CUdeviceptr d, int n) {
        sync();
        short[] x = new short[n];
        cuMemcpyDtoH(Pointer.to(x), d, 2L * n);
        return x;
    }

    @Override
    public void close() {
        cuStreamDestroy(stream);
        cuDevicePrimaryCtxRelease(device);
    }
}
