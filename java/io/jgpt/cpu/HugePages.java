package io.jgpt.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Native memory for the weights decoding streams, backed by transparent huge pages where Linux allows them.
 * On this project's 2-core VMs a vectorised streaming sum read 26-28 GB/s from ordinary native memory (4 KiB
 * pages) and 32-35 GB/s from the same amount asked for huge pages, as fast as a page-cache mapping of a
 * checkpoint (30-33 GB/s; same run, alternating). THP is often enabled only on request ("madvise" mode), and
 * the request must come before the memory is first touched, so the memory is mapped here (anonymous, zeroed)
 * and advised at once; only whole 2 MiB pages are advised, so the tail of an allocation costs no more than it
 * uses. Where {@code mmap} is not available the memory comes from the arena instead.
 */
public final class HugePages {
    private static final long HUGE = 2L << 20;
    private static final int PROT_READ_WRITE = 0x1 | 0x2, MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20, MADV_HUGEPAGE = 14;
    private static final MethodHandle MMAP, MUNMAP, MADVISE;

    static {
        MethodHandle mmap = null, munmap = null, madvise = null;
        try {
            Linker linker = Linker.nativeLinker();
            SymbolLookup libc = linker.defaultLookup();
            var mmapSymbol = libc.find("mmap");
            var munmapSymbol = libc.find("munmap");
            var madviseSymbol = libc.find("madvise");
            if (System.getProperty("os.name", "").startsWith("Linux") && mmapSymbol.isPresent() && munmapSymbol.isPresent()
                    && madviseSymbol.isPresent()) {
                mmap = linker.downcallHandle(mmapSymbol.get(), FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
                munmap = linker.downcallHandle(munmapSymbol.get(), FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_LONG));
                madvise = linker.downcallHandle(madviseSymbol.get(), FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
            }
        } catch (RuntimeException | LinkageError e) {
            mmap = null; // no native access here: the arena's memory serves
        }
        MMAP = mmap;
        MUNMAP = munmap;
        MADVISE = madvise;
    }

    private HugePages() {}

    /**
     * {@code bytes} of zeroed native memory, 2 MiB aligned, released when {@code arena} closes; its whole
     * 2 MiB pages are asked for as huge pages.
     */
    public static MemorySegment allocate(Arena arena, long bytes) {
        if (MMAP == null || bytes < HUGE) return arena.allocate(Math.max(1, bytes), 64);
        try {
            long size = bytes + HUGE; // room to align the start
            long raw = (long) MMAP.invokeExact(0L, size, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, -1, 0L);
            if (raw == -1L) return arena.allocate(bytes, 64);
            long start = (raw + HUGE - 1) & -HUGE;
            int ignored = (int) MADVISE.invokeExact(start, bytes / HUGE * HUGE, MADV_HUGEPAGE); // a refusal costs only speed
            return MemorySegment.ofAddress(start).reinterpret(bytes, arena, s -> unmap(raw, size));
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("mapping " + bytes + " bytes for weights: " + t, t);
        }
    }

    private static void unmap(long address, long size) {
        try {
            int rc = (int) MUNMAP.invokeExact(address, size);
            if (rc != 0) throw new IllegalStateException("munmap returned " + rc);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}
