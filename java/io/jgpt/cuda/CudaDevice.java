package io.jgpt.cuda;

import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetAttribute;
import static jcuda.driver.JCudaDriver.cuDeviceGetCount;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDeviceTotalMem;
import static jcuda.driver.JCudaDriver.cuDriverGetVersion;
import static jcuda.driver.JCudaDriver.cuInit;

import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.JCudaDriver;

/** Finds out, without ever throwing, whether the CUDA backend can run here, and describes the devices. */
public final class CudaDevice {

    /** The kernels' classpath resource, written by native-build/build-kernels.sh. */
    static final String FATBIN = "/io/jgpt/cuda/jgpt_kernels.fatbin";
    static final String KERNELS_MISSING = "CUDA kernels were not built (nvcc was not available at build time)";

    /** Outcome of {@link #probe()}: a device summary when available, otherwise the reason it is not. */
    public record Probe(boolean available, String message) {}

    private static Probe cached;

    private CudaDevice() {}

    /** Checks driver, devices and kernels once per JVM; used to skip GPU tests and by {@code jgpt info}. */
    public static synchronized Probe probe() {
        if (cached == null) cached = runProbe();
        return cached;
    }

    private static Probe runProbe() {
        int count;
        try {
            count = count();
        } catch (Throwable e) { // UnsatisfiedLinkError without libcuda.so.1, CudaException without a device
            return new Probe(false, "no usable CUDA driver: " + firstLine(e));
        }
        if (count == 0) return new Probe(false, "no CUDA device found");
        if (!kernelsBuilt()) return new Probe(false, KERNELS_MISSING);
        try {
            StringBuilder sb = new StringBuilder("CUDA driver " + driverVersion());
            for (int i = 0; i < count; i++) sb.append("; cuda:").append(i).append(' ').append(describe(i));
            return new Probe(true, sb.toString());
        } catch (Throwable e) {
            return new Probe(false, "CUDA device query failed: " + firstLine(e));
        }
    }

    /** JCuda's link errors run to a dozen lines of diagnostics; the first says what went wrong. */
    private static String firstLine(Throwable e) {
        String m = String.valueOf(e.getMessage()).strip();
        int nl = m.indexOf('\n');
        return e.getClass().getSimpleName() + ": " + (nl < 0 ? m : m.substring(0, nl));
    }

    /** Loads the driver binding and initialises it; idempotent. */
    static void init() {
        JCudaDriver.setExceptionsEnabled(true);
        cuInit(0);
    }

    static CUdevice device(int index) {
        CUdevice dev = new CUdevice();
        cuDeviceGet(dev, index);
        return dev;
    }

    /** How many CUDA devices this process sees (after CUDA_VISIBLE_DEVICES). */
    public static int count() {
        init();
        int[] n = new int[1];
        cuDeviceGetCount(n);
        return n[0];
    }

    /** Whether native-build/build-kernels.sh put the fatbin on the classpath. */
    public static boolean kernelsBuilt() {
        return CudaDevice.class.getResource(FATBIN) != null;
    }

    /** e.g. "13.0". */
    public static String driverVersion() {
        int[] v = new int[1];
        cuDriverGetVersion(v);
        return v[0] / 1000 + "." + (v[0] % 1000) / 10;
    }

    /** The major compute capability of a device (8 for sm_80/86/89, 9 for sm_90); the driver must be usable. */
    public static int computeCapabilityMajor(int index) {
        init();
        int[] major = new int[1];
        cuDeviceGetAttribute(major, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device(index));
        return major[0];
    }

    /** The device's PCI address ("0000:19:00.0"): which physical GPU an index names, whatever CUDA_VISIBLE_DEVICES says. */
    public static String busId(int index) {
        String[] id = new String[1];
        JCudaDriver.cuDeviceGetPCIBusId(id, 32, device(index));
        return id[0].trim();
    }

    /** e.g. "NVIDIA H200 (sm_90, 139.8 GiB)". */
    public static String describe(int index) {
        CUdevice dev = device(index);
        byte[] name = new byte[256];
        cuDeviceGetName(name, name.length, dev);
        int len = 0;
        while (len < name.length && name[len] != 0) len++;
        int[] major = new int[1], minor = new int[1];
        cuDeviceGetAttribute(major, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev);
        cuDeviceGetAttribute(minor, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev);
        long[] total = new long[1];
        cuDeviceTotalMem(total, dev);
        return String.format("%s (sm_%d%d, %.1f GiB)", new String(name, 0, len), major[0], minor[0],
                total[0] / (double) (1L << 30));
    }
}
