package io.jgpt.cuda;

import java.util.HashMap;
import java.util.Map;
import jcuda.driver.CUdeviceptr;

/**
 * Named device work buffers reused from call to call: each grows to the largest size asked for, so after
 * the first training step nothing is allocated any more.
 */
final class Scratch implements AutoCloseable {

    private record Buffer(CUdeviceptr ptr, long bytes) {}

    private final CudaContext ctx;
    private final Map<String, Buffer> buffers = new HashMap<>();

    Scratch(CudaContext ctx) {
        this.ctx = ctx;
    }

    /** A buffer of at least {@code bytes} bytes; its contents are undefined. */
    CUdeviceptr get(String name, long bytes) {
        Buffer b = buffers.get(name);
        if (b != null && b.bytes >= bytes) return b.ptr;
        if (b != null) ctx.free(b.ptr);
        buffers.remove(name);
        b = new Buffer(ctx.alloc(bytes), bytes);
        buffers.put(name, b);
        return b.ptr;
    }

    @Override
    public void close() {
        for (Buffer b : buffers.values()) ctx.free(b.ptr);
        buffers.clear();
    }
}
