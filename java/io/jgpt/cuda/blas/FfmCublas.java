package io.jgpt.cuda.blas;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import jcuda.Pointer;
import jcuda.driver.CUstream;

/**
 * cuBLAS through the Foreign Function &amp; Memory API: works with any libcublas.so.N whose C API matches
 * (12 and 13 do for these calls), which JCublas2, compiled against CUDA 12, cannot offer.
 */
final class FfmCublas implements Blas {

    private static final int OP_N = 0, OP_T = 1;
    private static final int DEFAULT_MATH = 0, TF32_TENSOR_OP_MATH = 3;

    private static final Map<Integer, String> STATUS = Map.ofEntries(
            Map.entry(0, "CUBLAS_STATUS_SUCCESS"), Map.entry(1, "CUBLAS_STATUS_NOT_INITIALIZED"),
            Map.entry(3, "CUBLAS_STATUS_ALLOC_FAILED"), Map.entry(7, "CUBLAS_STATUS_INVALID_VALUE"),
            Map.entry(8, "CUBLAS_STATUS_ARCH_MISMATCH"), Map.entry(11, "CUBLAS_STATUS_MAPPING_ERROR"),
            Map.entry(13, "CUBLAS_STATUS_EXECUTION_FAILED"), Map.entry(14, "CUBLAS_STATUS_INTERNAL_ERROR"),
            Map.entry(15, "CUBLAS_STATUS_NOT_SUPPORTED"), Map.entry(16, "CUBLAS_STATUS_LICENSE_ERROR"));

    private final Path library;
    private final MethodHandle destroy, setStream, setMathMode, sgemm, gemmEx;
    private final Arena arena = Arena.ofShared();
    // alpha and beta go by host pointer (cuBLAS's default pointer mode reads them before returning).
    private final MemorySegment alphaPtr = arena.allocate(JAVA_FLOAT), betaPtr = arena.allocate(JAVA_FLOAT);
    private final MemorySegment handle;

    /** cublasGemmEx(handle, transa, transb, m, n, k, alpha, A, Atype, lda, B, Btype, ldb, beta, C, Ctype, ldc, computeType, algo). */
    static final FunctionDescriptor GEMM_EX = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT,
            JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS,
            JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT);

    /** Loads the library (once per process: cuBLAS is never unloaded) and creates a handle. */
    FfmCublas(Path library) {
        this.library = library;
        SymbolLookup lib = load(library);
        Linker linker = Linker.nativeLinker();
        MethodHandle create = linker.downcallHandle(find(lib, "cublasCreate_v2"),
                FunctionDescriptor.of(JAVA_INT, ADDRESS));
        destroy = linker.downcallHandle(find(lib, "cublasDestroy_v2"), FunctionDescriptor.of(JAVA_INT, ADDRESS));
        setStream = linker.downcallHandle(find(lib, "cublasSetStream_v2"),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        setMathMode = linker.downcallHandle(find(lib, "cublasSetMathMode"),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        sgemm = linker.downcallHandle(find(lib, "cublasSgemm_v2"), FunctionDescriptor.of(JAVA_INT,
                ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
        gemmEx = linker.downcallHandle(find(lib, "cublasGemmEx"), GEMM_EX);
        MemorySegment out = arena.allocate(ADDRESS);
        try {
            check((int) create.invokeExact(out), "cublasCreate_v2()");
        } catch (Throwable t) {
            arena.close();
            throw rethrow(t);
        }
        handle = out.get(ADDRESS, 0);
    }

    /**
     * Opens the library for the process. libcublasLt.so.N from the same directory goes first, because
     * libcublas needs it and the directory (a Python wheel, say) may not be on the loader's search path;
     * once loaded, the dynamic linker matches the dependency by its soname.
     */
    static SymbolLookup load(Path library) {
        Path lt = CublasLt.besideCublas(library);
        if (!lt.equals(library) && Files.isRegularFile(lt)) SymbolLookup.libraryLookup(lt, Arena.global());
        return SymbolLookup.libraryLookup(library, Arena.global());
    }

    private static MemorySegment find(SymbolLookup lib, String symbol) {
        return lib.find(symbol).orElseThrow(() -> new IllegalStateException("cuBLAS lacks " + symbol));
    }

    @Override
    public String name() {
        return "ffm:" + library;
    }

    @Override
    public void setStream(CUstream stream) {
        try {
            check((int) setStream.invokeExact(handle, MemorySegment.ofAddress(NativeAddress.ofHandle(stream))),
                    "cublasSetStream_v2(" + stream + ")");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void setTf32(boolean enabled) {
        int mode = enabled ? TF32_TENSOR_OP_MATH : DEFAULT_MATH;
        try {
            check((int) setMathMode.invokeExact(handle, mode), "cublasSetMathMode(" + mode + ")");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, Pointer a, int lda,
                      Pointer b, int ldb, float beta, Pointer c, int ldc) {
        setScalars(alpha, beta);
        try {
            int status = (int) sgemm.invokeExact(handle, op(transA), op(transB), m, n, k, alphaPtr,
                    device(a), lda, device(b), ldb, betaPtr, device(c), ldc);
            if (status != 0) {
                check(status, "cublasSgemm_v2(transA=%b, transB=%b, m=%d, n=%d, k=%d, alpha=%g, lda=%d, ldb=%d, beta=%g, ldc=%d)"
                        .formatted(transA, transB, m, n, k, alpha, lda, ldb, beta, ldc));
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void gemmBf16(boolean transA, boolean transB, int m, int n, int k, float alpha, Pointer a, int lda,
                         Pointer b, int ldb, float beta, Pointer c, int ldc, boolean cBf16) {
        setScalars(alpha, beta);
        int bf16 = CublasLt.Type.BF16.code, cType = cBf16 ? bf16 : CublasLt.Type.F32.code;
        try {
            int status = (int) gemmEx.invokeExact(handle, op(transA), op(transB), m, n, k, alphaPtr, device(a), bf16,
                    lda, device(b), bf16, ldb, betaPtr, device(c), cType, ldc, CublasLt.CUBLAS_COMPUTE_32F,
                    CublasLt.CUBLAS_GEMM_DEFAULT);
            if (status != 0) {
                check(status, "cublasGemmEx(bf16 A/B, %s C, transA=%b, transB=%b, m=%d, n=%d, k=%d, lda=%d, ldb=%d, ldc=%d)"
                        .formatted(cBf16 ? "bf16" : "fp32", transA, transB, m, n, k, lda, ldb, ldc));
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void close() {
        try {
            check((int) destroy.invokeExact(handle), "cublasDestroy_v2()");
        } catch (Throwable t) {
            throw rethrow(t);
        } finally {
            arena.close();
        }
    }

    private void setScalars(float alpha, float beta) {
        alphaPtr.set(JAVA_FLOAT, 0, alpha);
        betaPtr.set(JAVA_FLOAT, 0, beta);
    }

    private static int op(boolean trans) {
        return trans ? OP_T : OP_N;
    }

    private static MemorySegment device(Pointer p) {
        return MemorySegment.ofAddress(NativeAddress.of(p));
    }

    static String statusName(int status) {
        return STATUS.getOrDefault(status, "CUBLAS_STATUS_" + status);
    }

    private void check(int status, String call) {
        if (status != 0) {
            throw new IllegalStateException(call + " failed: " + statusName(status) + " (" + status + ") in "
                    + library);
        }
    }

    /** A downcall's Throwable as an unchecked exception (errors pass through). */
    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }
}
