package io.jgpt.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The NCCL binding against the nccl.h installed next to the library (PyTorch's nvidia-nccl wheel has
 * include/nccl.h beside lib/): the id size, the enum values and every bound prototype, each parameter type
 * mapped to the layout the FFM descriptor uses. Skipped where no nccl.h is installed (this runs in the GPU
 * check); the values were taken from NVIDIA's src/nccl.h.in.
 */
@Tag("gpu")
class NcclHeaderTest {

    private static Path header() {
        Path lib = Nccl.locate();
        if (lib == null) return null;
        for (Path p : List.of(lib.getParent().resolveSibling("include").resolve("nccl.h"), Path.of("/usr/include/nccl.h"))) {
            if (Files.isRegularFile(p)) return p;
        }
        return null;
    }

    @Test
    void constantsAndPrototypesMatchNcclH() throws Exception {
        Path h = header();
        assumeTrue(h != null, "no nccl.h installed beside " + Nccl.locate());
        String text = Files.readString(h);
        assertEquals(Nccl.UNIQUE_ID_BYTES, number(text, "#define\\s+NCCL_UNIQUE_ID_BYTES\\s+(\\d+)"));
        assertEquals(Nccl.UNIQUE_ID_BYTES, Nccl.UNIQUE_ID.byteSize());
        assertEquals(Nccl.SUCCESS, number(text, "ncclSuccess\\s*=\\s*(\\d+)"));
        assertEquals(Nccl.IN_PROGRESS, number(text, "ncclInProgress\\s*=\\s*(\\d+)"));
        assertEquals(5, number(text, "ncclInvalidUsage\\s*=\\s*(\\d+)"));
        assertEquals(Nccl.UINT8, number(text, "ncclUint8\\s*=\\s*(\\d+)"));
        assertEquals(Nccl.FLOAT32, number(text, "ncclFloat32\\s*=\\s*(\\d+)"));
        assertEquals(Nccl.FLOAT64, number(text, "ncclFloat64\\s*=\\s*(\\d+)"));
        assertEquals(Nccl.SUM, number(text, "ncclSum\\s*=\\s*(\\d+)"));

        Nccl nccl = Nccl.get();
        Map<String, MethodHandle> bound = new LinkedHashMap<>();
        bound.put("ncclGetVersion", nccl.getVersion);
        bound.put("ncclGetUniqueId", nccl.getUniqueId);
        bound.put("ncclCommInitRank", nccl.commInitRank);
        bound.put("ncclCommDestroy", nccl.commDestroy);
        bound.put("ncclCommAbort", nccl.commAbort);
        bound.put("ncclCommGetAsyncError", nccl.commGetAsyncError);
        bound.put("ncclAllReduce", nccl.allReduce);
        bound.put("ncclReduceScatter", nccl.reduceScatter);
        bound.put("ncclAllGather", nccl.allGather);
        bound.put("ncclBroadcast", nccl.broadcast);
        String flat = text.replaceAll("\\s+", " ");
        bound.forEach((f, handle) -> {
            Matcher m = Pattern.compile("ncclResult_t\\s+" + f + "\\s*\\(([^)]*)\\)").matcher(flat);
            assertTrue(m.find(), f + " not declared in " + h);
            List<Class<?>> params = java.util.Arrays.stream(m.group(1).split(",")).map(String::trim)
                    .map(NcclHeaderTest::javaType).toList();
            assertEquals(MethodType.methodType(int.class, params), handle.type(), f + "(" + m.group(1) + ")");
        });
        assertTrue(flat.contains("const char* ncclGetErrorString(ncclResult_t result)")
                || flat.matches(".*const char ?\\* ?ncclGetErrorString\\( ?ncclResult_t [a-z]+\\).*"));
    }

    /** A C parameter's Java carrier: pointers and handles are addresses, size_t is long, the rest int. */
    private static Class<?> javaType(String param) {
        String type = param.replaceAll("\\s+\\w+$", "").trim();
        if (type.contains("*") || type.equals("ncclComm_t") || type.equals("cudaStream_t")) return MemorySegment.class;
        if (type.equals("size_t")) return long.class;
        if (type.equals("ncclUniqueId")) return MemorySegment.class;
        return int.class;
    }

    private static int number(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        assertTrue(m.find(), regex);
        return Integer.parseInt(m.group(1));
    }
}
