package io.jgpt.io;

import io.jgpt.tensor.Bf16;
import java.lang.foreign.MemorySegment;

/** Widening of 16-bit floats (IEEE half or bfloat16, little-endian) to float, which is exact for both. */
final class HalfFloats {
    private static final int CHUNK = 1 << 16;

    private HalfFloats() {}

    static void widen(MemorySegment src, float[] dst, boolean bfloat16) {
        short[] raw = new short[Math.min(dst.length, CHUNK)];
        for (int done = 0; done < dst.length; done += raw.length) {
            int n = Math.min(raw.length, dst.length - done);
            MemorySegment.copy(src, MappedFile.SHORT_LE, 2L * done, raw, 0, n);
            for (int i = 0; i < n; i++) {
                dst[done + i] = bfloat16 ? Bf16.toFloat(raw[i]) : Float.float16ToFloat(raw[i]);
            }
        }
    }
}
