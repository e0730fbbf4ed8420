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
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import jcuda.Pointer;
import jcuda.driver.CUstream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * cuBLASLt through the Foreign Function &amp; Memory API (libcublasLt.so.N, the library beside the libcublas
 * that {@link CublasLocator} finds): GEMMs with bf16 inputs, fp32 accumulation and scaling, an explicit
 * device workspace, and the fused epilogues that save element-wise kernels in a GPT-2 step: bias add (every
 * forward projection), bias + GELU keeping the pre-activation (the MLP's first projection), dGELU with or
 * without the bias gradient (the MLP's backward), and the bias gradient beside a weight gradient.
 *
 * <p>Column-major like cuBLAS: {@code D = alpha op(A) op(B) + beta D}, D (m, n), op(A) (m, k), op(B) (k, n).
 * The epilogues <b>overwrite</b> their bias-gradient output (they do not accumulate). A plan (descriptors
 * and the heuristic's algorithm) is made once per shape; where the heuristic has no algorithm for a shape,
 * {@link #matmul} returns false, logged once per shape, and the caller uses cublasGemmEx and a kernel.
 *
 * <p>No cuBLASLt header is needed: every constant, attribute size and function signature used here is
 * listed in {@link #CONSTANTS}, {@link Attribute} and {@link #FUNCTIONS}, and CublasLtBindingTest
 * checks them against the JavaCPP presets generated from NVIDIA's cublasLt.h.
 */
public final class CublasLt implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(CublasLt.class);

    /** Element types (cudaDataType_t). */
    public enum Type {
        F32(0), BF16(14);
        final int code;
        Type(int code) { this.code = code; }
    }

    /** cublasLtEpilogue_t values used by jgpt. */
    public enum Epilogue {
        /** Nothing after the product. */
        NONE(1),
        /** D += bias (length m) broadcast over columns. */
        BIAS(4),
        /** aux = product + bias (the pre-activation, for the backward), D = GELU(aux). */
        GELU_AUX_BIAS(32 | 128 | 4),
        /** D = product * GELU'(aux). */
        DGELU(64 | 128),
        /** {@link #DGELU}, and bias = row sums of D (length m, over n). */
        DGELU_BGRAD(64 | 128 | 16),
        /** bias = sums of op(B) over k (length n): a bias gradient beside a weight gradient. */
        BGRADB(512);
        final int code;
        Epilogue(int code) { this.code = code; }
        boolean usesAux() { return this == GELU_AUX_BIAS || this == DGELU || this == DGELU_BGRAD; }
        boolean usesBias() { return this != NONE && this != DGELU; }
    }

    /**
     * What a plan depends on: everything but the device pointers (their alignment aside). {@code auxLd} is
     * the pre-activation matrix's leading dimension (a multiple of 8, at least m; 0 without one);
     * {@code biasType} the bias (gradient) vector's type, null for cuBLASLt's default (D's type).
     */
    public record Shape(boolean transA, boolean transB, int m, int n, int k, int lda, int ldb, int ldd,
                        Type abType, Type dType, Epilogue epilogue, int auxLd, Type biasType) {}

    static final int CUBLAS_OP_N = 0, CUBLAS_OP_T = 1, CUBLAS_COMPUTE_32F = 68, CUBLAS_STATUS_NOT_SUPPORTED = 15,
            CUBLAS_GEMM_DEFAULT = -1;

    /** The descriptor and preference attributes this binding sets, with their header names and value sizes. */
    enum Attribute {
        TRANSA("CUBLASLT_MATMUL_DESC_TRANSA", 3, 4),
        TRANSB("CUBLASLT_MATMUL_DESC_TRANSB", 4, 4),
        EPILOGUE("CUBLASLT_MATMUL_DESC_EPILOGUE", 7, 4),
        BIAS_POINTER("CUBLASLT_MATMUL_DESC_BIAS_POINTER", 8, 8),
        EPILOGUE_AUX_POINTER("CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER", 11, 8),
        EPILOGUE_AUX_LD("CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD", 12, 8),
        BIAS_DATA_TYPE("CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE", 26, 4),
        MAX_WORKSPACE_BYTES("CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES", 1, 8);
        final String header;
        final int code, bytes;
        Attribute(String header, int code, int bytes) {
            this.header = header;
            this.code = code;
            this.bytes = bytes;
        }
    }

    /** Every other cuBLASLt / cuBLAS / CUDA constant this package passes, by its name in the headers. */
    static final Map<String, Integer> CONSTANTS = constants();

    /** Every function this binding calls, with its C signature as FFM sees it. */
    static final Map<String, FunctionDescriptor> FUNCTIONS = functions();

    /**
     * Room for one cublasLtMatmulHeuristicResult_t. Only its first member, the algorithm (passed back to
     * cublasLtMatmul by address), and the returned count are read, so no other offset matters; the header's
     * struct is 96 bytes, this leaves room for growth.
     */
    static final long HEURISTIC_RESULT_BYTES = 1024;

    private final Path library;
    private final MethodHandle destroy, descCreate, descDestroy, descSet, layoutCreate, layoutDestroy,
            prefCreate, prefDestroy, prefSet, heuristic, matmul;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment handle, alpha, beta, scratch;
    private final MemorySegment workspace;
    private final long workspaceBytes;
    private final Map<PlanKey, Plan> plans = new HashMap<>();

    private record PlanKey(Shape shape, int alignment) {}

    /** Descriptors for one shape, and the algorithm (null when the heuristic found none). */
    private record Plan(MemorySegment desc, MemorySegment a, MemorySegment b, MemorySegment d, MemorySegment algo) {}

    /**
     * Opens libcublasLt in the current CUDA context with a caller-owned device workspace of
     * {@code workspaceBytes} (32 MiB suits Hopper) that must outlive this object.
     */
    public CublasLt(Path library, Pointer workspace, long workspaceBytes) {
        this.library = library;
        SymbolLookup lib = SymbolLookup.libraryLookup(library, Arena.global());
        Map<String, MethodHandle> h = new HashMap<>();
        Linker linker = Linker.nativeLinker();
        FUNCTIONS.forEach((name, fd) -> h.put(name, linker.downcallHandle(lib.find(name).orElseThrow(
                () -> new IllegalStateException(library + " lacks " + name)), fd)));
        destroy = h.get("cublasLtDestroy");
        descCreate = h.get("cublasLtMatmulDescCreate");
        descDestroy = h.get("cublasLtMatmulDescDestroy");
        descSet = h.get("cublasLtMatmulDescSetAttribute");
        layoutCreate = h.get("cublasLtMatrixLayoutCreate");
        layoutDestroy = h.get("cublasLtMatrixLayoutDestroy");
        prefCreate = h.get("cublasLtMatmulPreferenceCreate");
        prefDestroy = h.get("cublasLtMatmulPreferenceDestroy");
        prefSet = h.get("cublasLtMatmulPreferenceSetAttribute");
        heuristic = h.get("cublasLtMatmulAlgoGetHeuristic");
        matmul = h.get("cublasLtMatmul");
        this.workspace = MemorySegment.ofAddress(NativeAddress.of(workspace));
        this.workspaceBytes = workspaceBytes;
        alpha = arena.allocate(JAVA_FLOAT);
        beta = arena.allocate(JAVA_FLOAT);
        scratch = arena.allocate(JAVA_LONG);
        MemorySegment out = arena.allocate(ADDRESS);
        try {
            check((int) h.get("cublasLtCreate").invokeExact(out), "cublasLtCreate");
        } catch (Throwable t) {
            arena.close();
            throw FfmCublas.rethrow(t);
        }
        handle = out.get(ADDRESS, 0);
    }

    /**
     * The libcublasLt.so.N beside the newest libcublas.so.N that {@link CublasLocator} finds (JGPT_CUBLAS and
     * JGPT_CUBLAS_DIRS apply), or an error naming what was searched.
     */
    public static Path locate() {
        CublasLocator locator = CublasLocator.system();
        return locator.candidates().stream().map(c -> besideCublas(c.path())).filter(Files::isRegularFile)
                .findFirst().orElseThrow(() -> new IllegalStateException(
                        "no libcublasLt.so.N beside any libcublas: searched " + locator.searched()));
    }

    /** libcublasLt.so.N beside a libcublas.so.N (the pair a CUDA toolkit or a Python wheel ships). */
    public static Path besideCublas(Path libcublas) {
        return libcublas.resolveSibling(libcublas.getFileName().toString().replace("libcublas.", "libcublasLt."));
    }

    public Path library() {
        return library;
    }

    /**
     * Queues {@code D = alpha op(A) op(B) + beta D} with the shape's epilogue on {@code stream}. {@code bias}
     * is the epilogue's bias or bias-gradient vector and {@code aux} its pre-activation matrix (ld
     * {@code shape.auxLd()}), each null when the epilogue has none. Returns false, queuing nothing, when
     * cuBLASLt has no algorithm for this shape within the workspace.
     */
    public boolean matmul(Shape s, float alphaValue, Pointer a, Pointer b, float betaValue, Pointer d,
                          Pointer bias, Pointer aux, CUstream stream) {
        if (s.epilogue().usesBias() != (bias != null) || s.epilogue().usesAux() != (aux != null)) {
            throw new IllegalArgumentException("cuBLASLt epilogue " + s.epilogue() + ": bias "
                    + (bias != null ? "given" : "missing") + ", aux " + (aux != null ? "given" : "missing"));
        }
        long pa = NativeAddress.of(a), pb = NativeAddress.of(b), pd = NativeAddress.of(d);
        long pBias = bias == null ? 0 : NativeAddress.of(bias), pAux = aux == null ? 0 : NativeAddress.of(aux);
        PlanKey key = new PlanKey(s, alignment(pa | pb | pd | pBias | pAux));
        try {
            Plan plan = plans.get(key);
            if (plan == null) {
                plan = plan(key, pBias, pAux);
                plans.put(key, plan);
                if (plan.algo() == null) {
                    log.warn("cuBLASLt has no algorithm for {} (alignment {} bytes); using cublasGemmEx and a kernel",
                            s, key.alignment());
                }
            }
            if (plan.algo() == null) return false;
            setPointers(plan.desc(), s.epilogue(), pBias, pAux);
            alpha.set(JAVA_FLOAT, 0, alphaValue);
            beta.set(JAVA_FLOAT, 0, betaValue);
            MemorySegment dSeg = MemorySegment.ofAddress(pd);
            check((int) matmul.invokeExact(handle, plan.desc(), alpha, MemorySegment.ofAddress(pa), plan.a(),
                    MemorySegment.ofAddress(pb), plan.b(), beta, dSeg, plan.d(), dSeg, plan.d(), plan.algo(),
                    workspace, workspaceBytes, MemorySegment.ofAddress(NativeAddress.ofHandle(stream))),
                    "cublasLtMatmul(" + s + ")");
            return true;
        } catch (Throwable t) {
            throw FfmCublas.rethrow(t);
        }
    }

    private Plan plan(PlanKey key, long pBias, long pAux) throws Throwable {
        Shape s = key.shape();
        MemorySegment out = arena.allocate(ADDRESS);
        check((int) descCreate.invokeExact(out, CUBLAS_COMPUTE_32F, Type.F32.code), "cublasLtMatmulDescCreate");
        MemorySegment desc = out.get(ADDRESS, 0);
        set(descSet, desc, Attribute.TRANSA, s.transA() ? CUBLAS_OP_T : CUBLAS_OP_N);
        set(descSet, desc, Attribute.TRANSB, s.transB() ? CUBLAS_OP_T : CUBLAS_OP_N);
        set(descSet, desc, Attribute.EPILOGUE, s.epilogue().code);
        if (s.epilogue().usesAux()) set(descSet, desc, Attribute.EPILOGUE_AUX_LD, s.auxLd());
        if (s.biasType() != null) set(descSet, desc, Attribute.BIAS_DATA_TYPE, s.biasType().code);
        setPointers(desc, s.epilogue(), pBias, pAux);
        MemorySegment a = layout(s.abType(), s.transA() ? s.k() : s.m(), s.transA() ? s.m() : s.k(), s.lda());
        MemorySegment b = layout(s.abType(), s.transB() ? s.n() : s.k(), s.transB() ? s.k() : s.n(), s.ldb());
        MemorySegment d = layout(s.dType(), s.m(), s.n(), s.ldd());

        check((int) prefCreate.invokeExact(out), "cublasLtMatmulPreferenceCreate");
        MemorySegment pref = out.get(ADDRESS, 0);
        set(prefSet, pref, Attribute.MAX_WORKSPACE_BYTES, workspaceBytes);
        MemorySegment result = arena.allocate(HEURISTIC_RESULT_BYTES, 16);
        MemorySegment count = arena.allocate(JAVA_INT);
        int status = (int) heuristic.invokeExact(handle, desc, a, b, d, d, pref, 1, result, count);
        check((int) prefDestroy.invokeExact(pref), "cublasLtMatmulPreferenceDestroy");
        // NOT_SUPPORTED (15) is how cuBLASLt says it has no algorithm; anything else is a real failure.
        if (status != 0 && status != CUBLAS_STATUS_NOT_SUPPORTED) check(status, "cublasLtMatmulAlgoGetHeuristic(" + s + ")");
        return new Plan(desc, a, b, d, status == 0 && count.get(JAVA_INT, 0) > 0 ? result : null);
    }

    private MemorySegment layout(Type type, long rows, long cols, long ld) throws Throwable {
        MemorySegment out = arena.allocate(ADDRESS);
        check((int) layoutCreate.invokeExact(out, type.code, rows, cols, ld), "cublasLtMatrixLayoutCreate");
        return out.get(ADDRESS, 0);
    }

    private void setPointers(MemorySegment desc, Epilogue e, long pBias, long pAux) throws Throwable {
        if (e.usesBias()) set(descSet, desc, Attribute.BIAS_POINTER, pBias);
        if (e.usesAux()) set(descSet, desc, Attribute.EPILOGUE_AUX_POINTER, pAux);
    }

    /** Sets a descriptor's or preference's attribute through {@code setter}, as a value of the attribute's size. */
    private void set(MethodHandle setter, MemorySegment target, Attribute a, long value) throws Throwable {
        if (a.bytes == 4) scratch.set(JAVA_INT, 0, Math.toIntExact(value));
        else scratch.set(JAVA_LONG, 0, value);
        check((int) setter.invokeExact(target, a.code, scratch, (long) a.bytes), setter == prefSet
                ? "cublasLtMatmulPreferenceSetAttribute(" + a.header + ")" : "cublasLtMatmulDescSetAttribute(" + a.header + ")");
    }

    /** The largest power of two (up to 256 bytes) dividing every address: the heuristic depends on it. */
    static int alignment(long orOfAddresses) {
        return orOfAddresses == 0 ? 256 : 1 << Math.min(8, Long.numberOfTrailingZeros(orOfAddresses));
    }

    @Override
    public void close() {
        try {
            for (Plan p : plans.values()) {
                check((int) layoutDestroy.invokeExact(p.a()), "cublasLtMatrixLayoutDestroy");
                check((int) layoutDestroy.invokeExact(p.b()), "cublasLtMatrixLayoutDestroy");
                check((int) layoutDestroy.invokeExact(p.d()), "cublasLtMatrixLayoutDestroy");
                check((int) descDestroy.invokeExact(p.desc()), "cublasLtMatmulDescDestroy");
            }
            plans.clear();
            check((int) destroy.invokeExact(handle), "cublasLtDestroy");
        } catch (Throwable t) {
            throw FfmCublas.rethrow(t);
        } finally {
            arena.close();
        }
    }

    private void check(int status, String call) {
        if (status != 0) {
            throw new IllegalStateException(call + " failed: " + FfmCublas.statusName(status) + " (" + status
                    + ") in " + library);
        }
    }

    private static Map<String, Integer> constants() {
        Map<String, Integer> c = new LinkedHashMap<>();
        c.put("CUBLAS_OP_N", CUBLAS_OP_N);
        c.put("CUBLAS_OP_T", CUBLAS_OP_T);
        c.put("CUBLAS_COMPUTE_32F", CUBLAS_COMPUTE_32F);
        c.put("CUBLAS_STATUS_NOT_SUPPORTED", CUBLAS_STATUS_NOT_SUPPORTED);
        c.put("CUBLAS_GEMM_DEFAULT", CUBLAS_GEMM_DEFAULT); // cublasGemmEx's algorithm (FfmCublas, JCublasBlas)
        c.put("CUDA_R_32F", Type.F32.code);
        c.put("CUDA_R_16BF", Type.BF16.code);
        for (Attribute a : Attribute.values()) c.put(a.header, a.code);
        c.put("CUBLASLT_EPILOGUE_DEFAULT", Epilogue.NONE.code);
        c.put("CUBLASLT_EPILOGUE_BIAS", Epilogue.BIAS.code);
        c.put("CUBLASLT_EPILOGUE_GELU_AUX_BIAS", Epilogue.GELU_AUX_BIAS.code);
        c.put("CUBLASLT_EPILOGUE_DGELU", Epilogue.DGELU.code);
        c.put("CUBLASLT_EPILOGUE_DGELU_BGRAD", Epilogue.DGELU_BGRAD.code);
        c.put("CUBLASLT_EPILOGUE_BGRADB", Epilogue.BGRADB.code);
        return Map.copyOf(c);
    }

    private static Map<String, FunctionDescriptor> functions() {
        FunctionDescriptor statusOfPointer = FunctionDescriptor.of(JAVA_INT, ADDRESS);
        FunctionDescriptor setAttribute = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG);
        Map<String, FunctionDescriptor> f = new LinkedHashMap<>();
        f.put("cublasLtCreate", statusOfPointer);
        f.put("cublasLtDestroy", statusOfPointer);
        f.put("cublasLtMatmulDescCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        f.put("cublasLtMatmulDescDestroy", statusOfPointer);
        f.put("cublasLtMatmulDescSetAttribute", setAttribute);
        f.put("cublasLtMatrixLayoutCreate",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG));
        f.put("cublasLtMatrixLayoutDestroy", statusOfPointer);
        f.put("cublasLtMatmulPreferenceCreate", statusOfPointer);
        f.put("cublasLtMatmulPreferenceDestroy", statusOfPointer);
        f.put("cublasLtMatmulPreferenceSetAttribute", setAttribute);
        f.put("cublasLtMatmulAlgoGetHeuristic", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS,
                ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
        f.put("cublasLtMatmul", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS));
        return Map.copyOf(f);
    }
}
