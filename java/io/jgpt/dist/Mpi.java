package io.jgpt.dist;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import io.jgpt.JgptException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Open MPI's C API through the FFM API: the handful of calls data-parallel training needs. In Open MPI a
 * handle such as {@code MPI_COMM_WORLD}, {@code MPI_FLOAT} or {@code MPI_SUM} is the address of a global
 * object exported by libmpi ({@code &ompi_mpi_comm_world}, see {@code OMPI_PREDEFINED_GLOBAL} in mpi.h), so
 * the binding looks those symbols up; {@code MpiHeaderTest} compiles a probe against the installed mpi.h
 * that checks every handle, constant and prototype used here.
 */
final class Mpi {

    /** The soname of Open MPI 3.x-5.x's C library (Debian's libopenmpi3). */
    static final String LIBRARY = "libmpi.so.40";
    static final int SUCCESS = 0;
    /** Open MPI's enum order: SINGLE, FUNNELED, SERIALIZED, MULTIPLE. */
    static final int THREAD_SERIALIZED = 2;
    static final int MAX_ERROR_STRING = 256;
    /** {@code MPI_IN_PLACE} is {@code ((void *) 1)}. */
    static final MemorySegment IN_PLACE = MemorySegment.ofAddress(1);
    /** {@code MPI_STATUS_IGNORE} is {@code ((MPI_Status *) 0)}. */
    static final MemorySegment STATUS_IGNORE = MemorySegment.NULL;
    /** glibc's dlopen flags: resolve now, and make libmpi's symbols visible to the components it dlopens. */
    static final int RTLD_NOW = 2, RTLD_GLOBAL = 0x100;

    /** Handle name in mpi.h → the global object it is the address of. */
    static final Map<String, String> HANDLES = Map.of(
            "MPI_COMM_WORLD", "ompi_mpi_comm_world", "MPI_FLOAT", "ompi_mpi_float", "MPI_DOUBLE", "ompi_mpi_double",
            "MPI_BYTE", "ompi_mpi_byte", "MPI_SUM", "ompi_mpi_op_sum");

    private static Mpi instance;

    final MemorySegment commWorld, f32, f64, bytes, sum;
    final MethodHandle initialized, initThread, finalizeMpi, abort, commRank, commSize, iallreduce,
            ireduceScatterBlock, iallgather, ibcast, ibarrier, test, errorString, libraryVersion;

    private Mpi(SymbolLookup lib) {
        commWorld = find(lib, HANDLES.get("MPI_COMM_WORLD"));
        f32 = find(lib, HANDLES.get("MPI_FLOAT"));
        f64 = find(lib, HANDLES.get("MPI_DOUBLE"));
        bytes = find(lib, HANDLES.get("MPI_BYTE"));
        sum = find(lib, HANDLES.get("MPI_SUM"));
        Linker l = Linker.nativeLinker();
        initialized = l.downcallHandle(find(lib, "MPI_Initialized"), FunctionDescriptor.of(JAVA_INT, ADDRESS));
        initThread = l.downcallHandle(find(lib, "MPI_Init_thread"),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS));
        finalizeMpi = l.downcallHandle(find(lib, "MPI_Finalize"), FunctionDescriptor.of(JAVA_INT));
        abort = l.downcallHandle(find(lib, "MPI_Abort"), FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        commRank = l.downcallHandle(find(lib, "MPI_Comm_rank"), FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        commSize = l.downcallHandle(find(lib, "MPI_Comm_size"), FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        // The collectives are the non-blocking (MPI-3) forms, completed by polling MPI_Test: a blocking MPI call
        // spins on its core, which starves the computing threads when ranks share cores.
        // (sendbuf, recvbuf, count, datatype, op, comm, request*)
        iallreduce = l.downcallHandle(find(lib, "MPI_Iallreduce"),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        // (sendbuf, recvbuf, recvcount, datatype, op, comm, request*)
        ireduceScatterBlock = l.downcallHandle(find(lib, "MPI_Ireduce_scatter_block"),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        // (sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm, request*)
        iallgather = l.downcallHandle(find(lib, "MPI_Iallgather"), FunctionDescriptor.of(JAVA_INT,
                ADDRESS, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        // (buffer, count, datatype, root, comm, request*)
        ibcast = l.downcallHandle(find(lib, "MPI_Ibcast"),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
        ibarrier = l.downcallHandle(find(lib, "MPI_Ibarrier"), FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        // (request*, flag*, status*)
        test = l.downcallHandle(find(lib, "MPI_Test"), FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        errorString = l.downcallHandle(find(lib, "MPI_Error_string"),
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
        libraryVersion = l.downcallHandle(find(lib, "MPI_Get_library_version"),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    }

    /** Every bound C function by name (MpiHeaderTest checks each handle's type against mpi.h's prototype). */
    Map<String, MethodHandle> functions() {
        return Map.ofEntries(Map.entry("MPI_Initialized", initialized), Map.entry("MPI_Init_thread", initThread),
                Map.entry("MPI_Finalize", finalizeMpi), Map.entry("MPI_Abort", abort),
                Map.entry("MPI_Comm_rank", commRank), Map.entry("MPI_Comm_size", commSize),
                Map.entry("MPI_Iallreduce", iallreduce), Map.entry("MPI_Ireduce_scatter_block", ireduceScatterBlock),
                Map.entry("MPI_Iallgather", iallgather), Map.entry("MPI_Ibcast", ibcast),
                Map.entry("MPI_Ibarrier", ibarrier), Map.entry("MPI_Test", test),
                Map.entry("MPI_Error_string", errorString), Map.entry("MPI_Get_library_version", libraryVersion));
    }

    /** The process's binding, loading libmpi on first use. */
    static synchronized Mpi get() {
        if (instance == null) instance = new Mpi(load());
        return instance;
    }

    /** Whether the library can be loaded here (Open MPI is installed). */
    static boolean available() {
        return locate() != null;
    }

    private static Path locate() {
        for (String dir : List.of("/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib",
                "/usr/lib/aarch64-linux-gnu")) {
            Path p = Path.of(dir, LIBRARY);
            if (Files.exists(p)) return p;
        }
        return null;
    }

    private static SymbolLookup load() {
        Path path = locate();
        String name = path != null ? path.toString() : LIBRARY;
        // Java's own loading is RTLD_LOCAL; Open MPI's plug-ins (mca_btl_tcp.so, ...) expect libmpi's symbols
        // to be global, so open it once more through dlopen with RTLD_GLOBAL before looking symbols up.
        Linker l = Linker.nativeLinker();
        MethodHandle dlopen = l.downcallHandle(l.defaultLookup().find("dlopen").orElseThrow(),
                FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment handle = (MemorySegment) dlopen.invokeExact(a.allocateFrom(name), RTLD_NOW | RTLD_GLOBAL);
            if (handle.address() == 0) {
                throw new JgptException("cannot load " + LIBRARY + " (Open MPI): install openmpi-bin and libopenmpi-dev"
                        + " (Debian/Ubuntu) to run under mpirun");
            }
        } catch (JgptException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        return SymbolLookup.libraryLookup(name, Arena.global());
    }

    private static MemorySegment find(SymbolLookup lib, String symbol) {
        return lib.find(symbol).orElseThrow(() -> new IllegalStateException(LIBRARY + " lacks " + symbol
                + " (not Open MPI?)"));
    }

    MemorySegment datatype(Element e) {
        return switch (e) {
            case F32 -> f32;
            case F64 -> f64;
            case BYTE -> bytes;
        };
    }

    /** Throws unless status is MPI_SUCCESS, naming the call and MPI's own message. */
    void check(int status, String call) {
        if (status == SUCCESS) return;
        String message;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment text = a.allocate(MAX_ERROR_STRING);
            MemorySegment len = a.allocate(JAVA_INT);
            int s = (int) errorString.invokeExact(status, text, len);
            message = s == SUCCESS ? new String(text.asSlice(0, len.get(JAVA_INT, 0)).toArray(JAVA_BYTE)) : "error " + status;
        } catch (Throwable t) {
            message = "error " + status;
        }
        throw new IllegalStateException(call + " failed: " + message);
    }

    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }
}
