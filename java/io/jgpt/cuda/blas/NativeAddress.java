package io.jgpt.cuda.blas;

import jcuda.NativePointerObject;
import jcuda.Pointer;

/**
 * Reads the raw address behind a JCuda {@link Pointer} (plus its byte offset) or handle such as a
 * {@code CUstream}, for passing to native code through the FFM API. JCuda keeps both values in protected
 * accessors; its protected copy constructor is the supported way for a subclass to see them, so no
 * reflection into private fields is needed.
 */
public final class NativeAddress extends Pointer {

    private NativeAddress(Pointer p) {
        super(p);
    }

    /** The device address a {@code Pointer}/{@code CUdeviceptr} stands for, offset included. */
    public static long of(Pointer p) {
        if (p == null) throw new IllegalArgumentException("null device pointer");
        NativeAddress copy = new NativeAddress(p);
        long base = copy.getNativePointer();
        if (base == 0) {
            throw new IllegalArgumentException("not a device pointer (no native address): " + p);
        }
        return base + copy.getByteOffset();
    }

    /** The native handle of a stream or other opaque JCuda object; 0 means the default stream. */
    public static long ofHandle(NativePointerObject handle) {
        return handle == null ? 0 : new Handle(handle).address();
    }

    private static final class Handle extends NativePointerObject {
        Handle(NativePointerObject other) {
            super(other);
        }

        long address() {
            return getNativePointer();
        }
    }
}
