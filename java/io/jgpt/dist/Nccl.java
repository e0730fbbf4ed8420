package io.jgpt.dist;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.jgpt.JgptException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * NCCL's C API through the FFM API. Enum values and the 128-byte {@code ncclUniqueId} follow NVIDIA's
 * nccl.h (src/nccl.h.in of github.com/NVIDIA/nccl, checked for 2.18-2.28); {@code NcclHeaderTest} compares them
 * and the prototypes against an installed nccl.h where one exists (the GPU machine's PyTorch wheels).
 */
final class Nccl {

    static final String LIBRARY = "libnccl.so.2";
    static final int UNIQUE_ID_BYTES = 128;
    /** ncclResult_t. */
    static final int SUCCESS = 0, IN_PROGRESS = 7;
    /** ncclDataType_t: ncclUint8, ncclFloat32, ncclFloat64. */
    static final int UINT8 = 1, FLOAT32 = 7, FLOAT64 = 8;
    /** ncclRedOp_t: ncclSum. */
    static final int SUM = 0;

    static final Map<Integer, String> RESULTS = Map.of(0, "ncclSuccess", 1, "ncclUnhandledCudaError",
            2, "ncclSystemError", 3, "ncclInternalError", 4, "ncclInvalidArgument", 5, "ncclInvalidUsage",
            6, "ncclRemoteError", 7, "ncclInProgress", 8, "ncclTimeout");

    /** {@code typedef struct { char internal[NCCL_UNIQUE_ID_BYTES]; } ncclUniqueId;} passed by value. */
    static final MemoryLayout UNIQUE_ID = MemoryLayout.structLayout(
            MemoryLayout.sequenceLayout(UNIQUE_ID_BYTES, JAVA_BYTE).withName("internal"));

    private static Nccl instance;

    final Path library;
    final MethodHandle getVersion, getUniqueId, commInitRank, commDestroy, commAbort, commGetAsyncError,
            getErrorString, allReduce, reduceScatter, allGather, broadcast;

    private Nccl(Path library, SymbolLookup lib) {
        this.library = library;
        Linker l = Linker.nativeLinker();
        getVersion = l.downcallHandle(find(lib, "ncclGetVersion"), FunctionDescriptor.of(JAVA_INT, ADDRESS));
        getUniqueId = l.downcallHandle(find(lib, "ncclGetUniqueId"), FunctionDescriptor.of(JAVA_INT, ADDRESS));
        // (ncclComm_t* comm, int nranks, ncclUniqueId commId, int rank)
        commInitRank = l.downcallHandle(find(lib, "ncclCommInitRank"),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, UNIQUE_ID, JAVA_INT));
        commDestroy = l.downcallHandle(find(lib, "ncclCommDestroy"), FunctionDescriptor.of(JAVA_INT, ADDRESS));
        commAbort = l.downcallHandle(find(lib, "ncclCommAbort"), FunctionDescriptor.of(JAVA_INT, ADDRESS));
        commGetAsyncError = l.downcallHandle(find(lib, "ncclCommGetAsyncError"),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        getErrorString = l.downcallHandle(find(lib, "ncclGetErrorString"), FunctionDescriptor.of(ADDRESS, JAVA_INT));
        // (sendbuff, recvbuff, count, datatype, op, comm, stream)
        allReduce = l.downcallHandle(find(lib, "ncclAllReduce"), FunctionDescriptor.of(JAVA_INT,
                ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
        // (sendbuff, recvbuff, recvcount, datatype, op, comm, stream)
        reduceScatter = l.downcallHandle(find(lib, "ncclReduceScatter"), FunctionDescriptor.of(JAVA_INT,
                ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
        // (sendbuff, recvbuff, sendcount, datatype, comm, stream)
        allGather = l.downcallHandle(find(lib, "ncclAllGather"), FunctionDescriptor.of(JAVA_INT,
                ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS));
        // (sendbuff, recvbuff, count, datatype, root, comm, stream)
        broadcast = l.downcallHandle(find(lib, "ncclBroadcast"), FunctionDescriptor.of(JAVA_INT,
                ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    }

    static synchronized Nccl get() {
        if (instance == null) {
            Path p = locate();
            if (p == null) {
                throw new JgptException("cannot find " + LIBRARY + " (NCCL) for multi-GPU training: install NCCL"
                        + " (e.g. the nvidia-nccl-cu12 wheel PyTorch uses) or set JGPT_NCCL to the library's path");
            }
            instance = new Nccl(p, SymbolLookup.libraryLookup(p, Arena.global()));
        }
        return instance;
    }

    /**
     * JGPT_NCCL if set, then the system's library directories, then Python wheels (nvidia/nccl/lib under any
     * site-packages on the usual paths), as PyTorch installs it.
     */
    static Path locate() {
        String env = System.getenv("JGPT_NCCL");
        if (env != null && !env.isBlank()) return Files.isRegularFile(Path.of(env)) ? Path.of(env) : null;
        List<Path> candidates = new ArrayList<>();
        for (String d : List.of("/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/local/cuda/lib64", "/usr/lib")) {
            candidates.add(Path.of(d, LIBRARY));
        }
        for (String root : List.of("/usr/local/lib", "/usr/lib", System.getProperty("user.home") + "/.local/lib")) {
            try (var pythons = Files.list(Path.of(root))) {
                pythons.filter(p -> p.getFileName().toString().startsWith("python3")).sorted().forEach(py -> {
                    for (String sp : List.of("dist-packages", "site-packages")) {
                        candidates.add(py.resolve(sp).resolve("nvidia/nccl/lib").resolve(LIBRARY));
                    }
                });
            } catch (java.io.IOException | SecurityException e) {
                // No such directory: nothing to add.
            }
        }
        return candidates.stream().filter(Files::isRegularFile).findFirst().orElse(null);
    }

    private static MemorySegment find(SymbolLookup lib, String symbol) {
        return lib.find(symbol).orElseThrow(() -> new IllegalStateException(LIBRARY + " lacks " + symbol));
    }

    static int datatype(Element e) {
        return switch (e) {
            case F32 -> FLOAT32;
            case F64 -> FLOAT64;
            case BYTE -> UINT8;
        };
    }

    int version() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_INT);
            check((int) getVersion.invokeExact(v), "ncclGetVersion");
            return v.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** A fresh unique id (on the rank that hands it to the others). */
    byte[] uniqueId() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment id = a.allocate(UNIQUE_ID);
            check((int) getUniqueId.invokeExact(id), "ncclGetUniqueId");
            return id.toArray(JAVA_BYTE);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    String errorString(int result) {
        try {
            MemorySegment s = (MemorySegment) getErrorString.invokeExact(result);
            return s.address() == 0 ? "" : s.reinterpret(4096).getString(0);
        } catch (Throwable t) {
            return "";
        }
    }

    void check(int result, String call) {
        if (result == SUCCESS) return;
        throw new IllegalStateException(call + " failed: " + RESULTS.getOrDefault(result, "ncclResult " + result)
                + " (" + errorString(result) + ")");
    }

    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }
}
