package io.jgpt.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The MPI binding against the installed Open MPI headers: a C probe compiled with mpicc (-Werror) assigns each
 * bound function to a pointer of the prototype written below, so a prototype that differs from mpi.h fails
 * to compile; the Java handle's type must be the same prototype with pointers and handles as addresses and
 * ints as ints. The probe also prints every constant and says whether each handle (MPI_COMM_WORLD, ...) is
 * the address of the global symbol the binding looks up.
 */
class MpiHeaderTest {

    /** function → its C parameter types (every function returns int). */
    private static final Map<String, List<String>> PROTOTYPES = new LinkedHashMap<>();

    static {
        PROTOTYPES.put("MPI_Initialized", List.of("int *"));
        PROTOTYPES.put("MPI_Init_thread", List.of("int *", "char ***", "int", "int *"));
        PROTOTYPES.put("MPI_Finalize", List.of());
        PROTOTYPES.put("MPI_Abort", List.of("MPI_Comm", "int"));
        PROTOTYPES.put("MPI_Comm_rank", List.of("MPI_Comm", "int *"));
        PROTOTYPES.put("MPI_Comm_size", List.of("MPI_Comm", "int *"));
        PROTOTYPES.put("MPI_Iallreduce", List.of("const void *", "void *", "int", "MPI_Datatype", "MPI_Op", "MPI_Comm", "MPI_Request *"));
        PROTOTYPES.put("MPI_Ireduce_scatter_block", List.of("const void *", "void *", "int", "MPI_Datatype", "MPI_Op", "MPI_Comm", "MPI_Request *"));
        PROTOTYPES.put("MPI_Iallgather", List.of("const void *", "int", "MPI_Datatype", "void *", "int", "MPI_Datatype", "MPI_Comm", "MPI_Request *"));
        PROTOTYPES.put("MPI_Ibcast", List.of("void *", "int", "MPI_Datatype", "int", "MPI_Comm", "MPI_Request *"));
        PROTOTYPES.put("MPI_Ibarrier", List.of("MPI_Comm", "MPI_Request *"));
        PROTOTYPES.put("MPI_Test", List.of("MPI_Request *", "int *", "MPI_Status *"));
        PROTOTYPES.put("MPI_Error_string", List.of("int", "char *", "int *"));
        PROTOTYPES.put("MPI_Get_library_version", List.of("char *", "int *"));
    }

    @Test
    void bindingMatchesMpiH(@TempDir Path tmp) throws Exception {
        Mpirun.assumeAvailable();
        StringBuilder c = new StringBuilder("#define _GNU_SOURCE\n#include <mpi.h>\n#include <dlfcn.h>\n#include <stdint.h>\n"
                + "#include <stdio.h>\nint main(void) {\n");
        PROTOTYPES.forEach((f, params) -> c.append("  int (*p_").append(f).append(")(")
                .append(params.isEmpty() ? "void" : String.join(", ", params)).append(") = ").append(f)
                .append(";\n  (void) p_").append(f).append(";\n"));
        c.append("""
                  printf("MPI_SUCCESS %d\\n", MPI_SUCCESS);
                  printf("MPI_THREAD_SERIALIZED %d\\n", MPI_THREAD_SERIALIZED);
                  printf("MPI_MAX_ERROR_STRING %d\\n", MPI_MAX_ERROR_STRING);
                  printf("MPI_IN_PLACE %ld\\n", (long) (intptr_t) MPI_IN_PLACE);
                  printf("MPI_STATUS_IGNORE %ld\\n", (long) (intptr_t) MPI_STATUS_IGNORE);
                  printf("RTLD_NOW %d\\n", RTLD_NOW);
                  printf("RTLD_GLOBAL %d\\n", RTLD_GLOBAL);
                  printf("handle_bytes %d\\n", (int) (sizeof(MPI_Comm) == sizeof(void *) && sizeof(MPI_Datatype) == sizeof(void *) && sizeof(MPI_Op) == sizeof(void *)));
                """);
        Mpi.HANDLES.forEach((handle, symbol) -> c.append("  printf(\"").append(handle).append(" %d\\n\", (void *) ")
                .append(handle).append(" == dlsym(RTLD_DEFAULT, \"").append(symbol).append("\"));\n"));
        c.append("  return 0;\n}\n");
        Path src = tmp.resolve("probe.c"), exe = tmp.resolve("probe");
        Files.writeString(src, c);
        Mpirun.Result build = Mpirun.run(List.of("mpicc", "-Wall", "-Werror", "-o", exe.toString(), src.toString()), 120);
        assertEquals(0, build.exitCode(), "probe does not compile against mpi.h:\n" + build.output() + "\n" + c);
        Mpirun.Result probe = Mpirun.run(List.of(exe.toString()), 60);
        assertEquals(0, probe.exitCode(), probe.output());
        Map<String, Long> printed = new HashMap<>();
        probe.output().lines().map(l -> l.trim().split(" ")).filter(w -> w.length == 2)
                .forEach(w -> printed.put(w[0], Long.parseLong(w[1])));

        assertEquals(Mpi.SUCCESS, printed.get("MPI_SUCCESS"));
        assertEquals(Mpi.THREAD_SERIALIZED, printed.get("MPI_THREAD_SERIALIZED"));
        assertEquals(Mpi.MAX_ERROR_STRING, printed.get("MPI_MAX_ERROR_STRING"));
        assertEquals(Mpi.IN_PLACE.address(), printed.get("MPI_IN_PLACE"));
        assertEquals(Mpi.STATUS_IGNORE.address(), printed.get("MPI_STATUS_IGNORE"));
        assertEquals(Mpi.RTLD_NOW, printed.get("RTLD_NOW"));
        assertEquals(Mpi.RTLD_GLOBAL, printed.get("RTLD_GLOBAL"));
        assertEquals(1L, printed.get("handle_bytes"), "MPI handles are pointers");
        for (String handle : Mpi.HANDLES.keySet()) {
            assertEquals(1L, printed.get(handle), handle + " is not &" + Mpi.HANDLES.get(handle));
        }

        Map<String, java.lang.invoke.MethodHandle> bound = Mpi.get().functions();
        assertEquals(PROTOTYPES.keySet(), bound.keySet());
        PROTOTYPES.forEach((f, params) -> {
            Class<?>[] java = params.stream().map(t -> t.equals("int") ? int.class : MemorySegment.class)
                    .toArray(Class<?>[]::new);
            assertEquals(MethodType.methodType(int.class, java), bound.get(f).type(), f + Arrays.toString(java));
        });
    }
}
