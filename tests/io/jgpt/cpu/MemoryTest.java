package io.jgpt.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.tensor.Tensor;
import io.jgpt.tensor.Tensor.DType;
import org.junit.jupiter.api.Test;

/** The dtype-carrying memory API of {@link io.jgpt.ops.Ops} on the CPU backend. */
class MemoryTest {

    private static final CpuOps OPS = new CpuOps(1);

    @Test
    void elementSizesAreTheStorageSizes() {
        assertEquals(4, DType.F32.bytes());
        assertEquals(2, DType.BF16.bytes());
        assertEquals(4, DType.I32.bytes());
        assertEquals(4L * 3 * 5, OPS.zeros(DType.F32, 3, 5).bytes());
        assertEquals(4L * 7, OPS.zeros(DType.I32, 7).bytes());
    }

    @Test
    void zerosUploadReadAndWriteRoundTripBothHostTypes() {
        Tensor f = OPS.zeros(DType.F32, 2, 3);
        assertEquals(DType.F32, f.dtype());
        assertArrayEquals(new float[6], OPS.download(f));
        float[] values = {1.5f, -2f, Float.MIN_VALUE, Float.NaN, -0f, 1e30f};
        OPS.write(f, values);
        assertArrayEquals(values, OPS.download(OPS.upload(DType.F32, values, 3, 2)));
        float[] back = new float[6];
        OPS.read(f, back);
        assertArrayEquals(values, back);

        Tensor i = OPS.upload(new int[] {3, -100, 7}, 3);
        assertEquals(DType.I32, i.dtype());
        int[] ids = new int[3];
        OPS.read(i, ids);
        assertArrayEquals(new int[] {3, -100, 7}, ids);
        OPS.write(i, new int[] {0, 1, 2});
        OPS.read(i, ids);
        assertArrayEquals(new int[] {0, 1, 2}, ids);
        assertArrayEquals(new int[4], ((CpuTensor) OPS.zeros(DType.I32, 2, 2)).ints());
    }

    @Test
    void uploadCopiesTheHostArray() {
        float[] values = {1f, 2f};
        Tensor t = OPS.upload(DType.F32, values, 2);
        values[0] = 9f;
        assertArrayEquals(new float[] {1f, 2f}, OPS.download(t));
    }

    @Test
    void mismatchedSizesAndTypesFailNamingTheTensor() {
        Tensor f = OPS.zeros(DType.F32, 2, 3);
        var e = assertThrows(IllegalArgumentException.class, () -> OPS.write(f, new float[5]));
        assertTrue(e.getMessage().contains("[2, 3]") && e.getMessage().contains("5"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> OPS.read(f, new float[7]));
        assertTrue(e.getMessage().startsWith("read:"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> OPS.write(f, new int[6]));
        assertTrue(e.getMessage().contains("F32") && e.getMessage().contains("I32"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> OPS.upload(DType.I32, new float[2], 2));
        assertTrue(e.getMessage().contains("int[]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> OPS.zeros(DType.BF16, 4));
        assertTrue(e.getMessage().contains("BF16"), e.getMessage());
    }
}
