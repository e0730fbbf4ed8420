package io.jgpt.cuda;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUfunction;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUstream;

/**
 * A stand-in for the CUDA driver that runs nothing: it hands out fresh handles, records what the backend
 * asks for, and fails — with a {@link CaptureViolation} — any call that is not allowed inside a stream
 * capture while one is open: waiting for the stream or an event, allocating or freeing, or copying from or
 * to the host. Device reads return zeros. It lets the backend's control flow be checked without a GPU.
 */
final class RecordingDriver implements CudaDriver {

    /** A call a captured graph could not contain. */
    static final class CaptureViolation extends RuntimeException {
        CaptureViolation(String call) {
            super(call + " inside a stream capture");
        }
    }

    private final Map<CUfunction, String> names = new IdentityHashMap<>();
    private final Map<CUstream, String> streams = new IdentityHashMap<>();
    private final Map<CUevent, String> events = new IdentityHashMap<>();
    /**
     * What each stream was given, in the order the host queued it: "STREAM upload", "STREAM copy" (device to
     * device), "STREAM record eN", "STREAM wait eN", "STREAM graph", "STREAM kernel NAME"; STREAM is "compute" (the
     * stream {@link #open} returned), "copy" (the first {@link #createStream} made: the backend's upload stream)
     * or "sideN" (later ones: data parallelism's communication stream). Tests of collectives add their own
     * entries. Kept across {@link #resetCounts}.
     */
    final List<String> streamLog = new ArrayList<>();
    private boolean capturing;
    /** Kernels launched while capturing, in order (the last capture's). */
    final List<String> captured = new ArrayList<>();
    /** Every capture's kernels, in order of capture. */
    final List<List<String>> recorded = new ArrayList<>();
    /** The bytes of every queued host-to-device copy, in order. */
    final List<byte[]> hostCopyData = new ArrayList<>();
    /** Every kernel launched outside a capture, in order. */
    final List<String> launched = new ArrayList<>();
    int captures;
    /** Refuse every capture, as a driver or library that cannot capture would. */
    boolean refuseCaptures;
    int graphLaunches;
    /** Host waits and synchronous copies outside captures: what a step must not need. */
    int hostWaits;
    int allocations;
    private long nextAddress = 1L << 32;
    int asyncHostCopies;

    private void forbiddenWhileCapturing(String call) {
        if (capturing) throw new CaptureViolation(call);
    }

    /** The fp32 CUDA backend over this fake driver, without cuBLAS ({@link NoBlas}). */
    CudaOps backend() {
        return new CudaOps(new CudaContext(this, 0, new byte[0]), NoBlas::new, false);
    }

    void resetCounts() {
        launched.clear();
        hostWaits = 0;
        allocations = 0;
        asyncHostCopies = 0;
        hostCopyData.clear();
        graphLaunches = 0;
    }

    @Override
    public CUstream open(int device) {
        CUstream s = new CUstream();
        streams.put(s, "compute");
        return s;
    }

    @Override
    public CUstream createStream() {
        forbiddenWhileCapturing("cuStreamCreate");
        CUstream s = new CUstream();
        streams.put(s, streams.size() == 1 ? "copy" : "side" + (streams.size() - 1));
        return s;
    }

    @Override
    public void destroyStream(CUstream s) {
        forbiddenWhileCapturing("cuStreamDestroy");
    }

    @Override
    public boolean idle(CUstream s) {
        return true; // nothing runs, so nothing is pending
    }

    @Override
    public void waitEvent(CUstream s, CUevent e) {
        log(s, "wait " + events.get(e));
    }

    private void log(CUstream s, String what) {
        if (!capturing) streamLog.add(streams.get(s) + " " + what); // captured work is not queued
    }

    @Override
    public void makeCurrent() {}

    @Override
    public void loadModule(byte[] image) {}

    @Override
    public CUfunction function(String name) {
        CUfunction f = new CUfunction();
        names.put(f, name);
        return f;
    }

    @Override
    public CUdeviceptr alloc(long bytes) {
        forbiddenWhileCapturing("cuMemAlloc");
        allocations++;
        CUdeviceptr p = new CUdeviceptr();
        // A distinct, 256-byte aligned fake address, so that code passing raw device addresses on (to NCCL) runs.
        try {
            java.lang.reflect.Field f = jcuda.NativePointerObject.class.getDeclaredField("nativePointer");
            f.setAccessible(true);
            f.setLong(p, nextAddress);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("JCuda's pointer layout changed", e);
        }
        nextAddress += (bytes + 255) / 256 * 256 + 256;
        return p;
    }

    @Override
    public void free(CUdeviceptr p) {
        forbiddenWhileCapturing("cuMemFree");
    }

    @Override
    public long[] memoryInfo() {
        return new long[] {1L << 30, 1L << 30};
    }

    @Override
    public Pointer allocHost(long bytes) {
        forbiddenWhileCapturing("cuMemAllocHost");
        return Pointer.to(ByteBuffer.allocateDirect(Math.toIntExact(bytes)));
    }

    @Override
    public void freeHost(Pointer p) {
        forbiddenWhileCapturing("cuMemFreeHost");
    }

    @Override
    public void synchronize(CUstream s) {
        forbiddenWhileCapturing("cuStreamSynchronize");
        hostWaits++;
    }

    @Override
    public void copyToHost(Pointer dst, CUdeviceptr src, long bytes) {
        forbiddenWhileCapturing("cuMemcpyDtoH");
        hostWaits++;
    }

    @Override
    public void copyToDevice(CUdeviceptr dst, Pointer src, long bytes) {
        forbiddenWhileCapturing("cuMemcpyHtoD");
        hostWaits++;
    }

    @Override
    public void copyToDeviceAsync(CUdeviceptr dst, Pointer src, long bytes, CUstream s) {
        forbiddenWhileCapturing("cuMemcpyHtoDAsync");
        asyncHostCopies++;
        log(s, "upload");
        byte[] data = new byte[Math.toIntExact(bytes)];
        src.getByteBuffer(0, bytes).get(data);
        hostCopyData.add(data);
    }

    @Override
    public void copyDeviceAsync(CUdeviceptr dst, CUdeviceptr src, long bytes, CUstream s) {
        (capturing ? captured : launched).add("memcpyDtoD");
        log(s, "copy");
    }

    @Override
    public void zeroAsync(CUdeviceptr p, long count, int elementBytes, CUstream s) {
        (capturing ? captured : launched).add("memset");
        log(s, "memset");
    }

    @Override
    public void launch(CUfunction f, Launch l, Pointer params, CUstream s) {
        (capturing ? captured : launched).add(names.get(f));
        log(s, "kernel " + names.get(f));
    }

    @Override
    public CUevent createEvent() {
        forbiddenWhileCapturing("cuEventCreate");
        CUevent e = new CUevent();
        events.put(e, "e" + events.size());
        return e;
    }

    @Override
    public void destroyEvent(CUevent e) {}

    @Override
    public void record(CUevent e, CUstream s) {
        log(s, "record " + events.get(e));
    }

    @Override
    public void synchronize(CUevent e) {
        forbiddenWhileCapturing("cuEventSynchronize");
        hostWaits++;
    }

    @Override
    public boolean passed(CUevent e) {
        return true;
    }

    @Override
    public float elapsedMillis(CUevent from, CUevent to) {
        return 0f;
    }

    @Override
    public void beginCapture(CUstream s) {
        if (capturing) throw new IllegalStateException("nested capture");
        if (refuseCaptures) throw new IllegalStateException("CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED (refused by the fake)");
        capturing = true;
        captured.clear();
        captures++;
    }

    @Override
    public CUgraphExec endCapture(CUstream s) {
        if (!capturing) throw new IllegalStateException("not capturing");
        capturing = false;
        recorded.add(List.copyOf(captured));
        return new CUgraphExec();
    }

    @Override
    public void launch(CUgraphExec graph, CUstream s) {
        forbiddenWhileCapturing("cuGraphLaunch");
        graphLaunches++;
        log(s, "graph");
    }

    @Override
    public void destroy(CUgraphExec graph) {}

    @Override
    public void close(CUstream s) {}
}
