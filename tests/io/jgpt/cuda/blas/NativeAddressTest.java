package io.jgpt.cuda.blas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;
import org.junit.jupiter.api.Test;

class NativeAddressTest {

    /** Stands in for a pointer cuMemAlloc filled in; needs no CUDA. */
    private static final class FakeDevicePointer extends Pointer {
        FakeDevicePointer(long address) {
            super(address);
        }
    }

    @Test
    void addsByteOffsetsToTheBaseAddress() {
        Pointer base = new FakeDevicePointer(0x7f00_0000_0000L);
        assertEquals(0x7f00_0000_0000L, NativeAddress.of(base));
        assertEquals(0x7f00_0000_0040L, NativeAddress.of(base.withByteOffset(64)));
        assertEquals(0x7f00_0000_0060L, NativeAddress.of(base.withByteOffset(64).withByteOffset(32)));
    }

    @Test
    void rejectsPointersWithoutANativeAddress() {
        assertThrows(IllegalArgumentException.class, () -> NativeAddress.of(new CUdeviceptr()));
        assertThrows(IllegalArgumentException.class, () -> NativeAddress.of(Pointer.to(new float[4])));
        assertThrows(IllegalArgumentException.class, () -> NativeAddress.of(null));
    }

    @Test
    void nullAndFreshStreamsAreTheDefaultStream() {
        assertEquals(0, NativeAddress.ofHandle(null));
        assertEquals(0, NativeAddress.ofHandle(new CUstream()));
    }
}
