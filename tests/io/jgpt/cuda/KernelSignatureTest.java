package io.jgpt.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jgpt.cuda.KernelBindingsGenerator.JavaType;
import io.jgpt.cuda.KernelBindingsGenerator.Kernel;
import io.jgpt.ops.Cost;
import io.jgpt.tensor.Tensor.DType;
import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import jcuda.driver.CUdeviceptr;
import org.junit.jupiter.api.Test;

/**
 * The typed launch methods of {@link Kernels} against the {@code extern "C" __global__} signatures in
 * kernels/*.cu, without a GPU. The committed Kernels.java must be exactly what {@link KernelBindingsGenerator}
 * writes from today's kernels, every compiled method must take the Java types of its kernel's C parameters in
 * order (so launching with a wrong argument does not compile), and every binding must be launched somewhere.
 */
class KernelSignatureTest {

    private static final Map<JavaType, Class<?>> CLASSES =
            Map.of(JavaType.PTR, CUdeviceptr.class, JavaType.INT, int.class, JavaType.LONG, long.class,
                    JavaType.FLOAT, float.class);

    @Test
    void committedBindingsAreWhatTheGeneratorWrites() throws IOException {
        String expected = KernelBindingsGenerator.generate(KernelBindingsGenerator.parse(Path.of("kernels")));
        if (Boolean.getBoolean("jgpt.regenerate")) Files.writeString(KernelBindingsGenerator.OUTPUT, expected);
        assertEquals(expected, Files.readString(KernelBindingsGenerator.OUTPUT),
                KernelBindingsGenerator.OUTPUT + " is stale; regenerate it from the repository root with:"
                        + " java tests/io/jgpt/cuda/KernelBindingsGenerator.java");
    }

    @Test
    void everyKernelHasATypedMethodTakingItsCParameters() throws IOException {
        List<Kernel> kernels = KernelBindingsGenerator.parse(Path.of("kernels"));
        assertTrue(kernels.size() > 10, "kernels found: " + kernels);
        Map<String, Method> methods = bindings();
        List<String> problems = new ArrayList<>();
        for (Kernel k : kernels) {
            String suffix = KernelBindingsGenerator.storageSuffix(k.name());
            String base = suffix == null ? k.name() : k.name().substring(0, k.name().length() - suffix.length());
            Method m = methods.get(KernelBindingsGenerator.camel(base));
            if (m == null) {
                problems.add(k.file() + " " + k.name() + ": no method in Kernels");
                continue;
            }
            List<Class<?>> want = new ArrayList<>();
            if (suffix != null) want.add(DType.class);
            want.add(Launch.class);
            for (JavaType t : k.types()) want.add(CLASSES.get(t));
            List<Class<?>> got = Arrays.asList(m.getParameterTypes());
            if (!want.equals(got))
                problems.add(k.file() + " " + k.signature() + ": Kernels." + m.getName() + " takes " + got);
        }
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }

    @Test
    void everyBindingIsLaunched() throws IOException {
        StringBuilder callers = new StringBuilder();
        try (Stream<Path> s = Files.list(Path.of("java/io/jgpt/cuda"))) {
            for (Path p : s.filter(f -> f.toString().endsWith(".java") && !f.equals(KernelBindingsGenerator.OUTPUT))
                    .toList())
                callers.append(Files.readString(p));
        }
        List<String> unused = bindings().keySet().stream()
                .filter(name -> !callers.toString().matches("(?s).*\\.\\s*" + name + "\\(.*")).toList();
        assertTrue(unused.isEmpty(), "kernels never launched from java/io/jgpt/cuda: " + unused);
    }

    @Test
    void parserMapsCTypesBySize() {
        var params = KernelBindingsGenerator.parseParams(
                "float* a, const int* __restrict__ b, int n, size_t m, unsigned long long key, float s, const void* p");
        assertEquals(List.of(JavaType.PTR, JavaType.PTR, JavaType.INT, JavaType.LONG, JavaType.LONG, JavaType.FLOAT,
                JavaType.PTR), params.stream().map(KernelBindingsGenerator.Param::type).toList());
        assertEquals(List.of("a", "b", "n", "m", "key", "s", "p"),
                params.stream().map(KernelBindingsGenerator.Param::name).toList());
        var e = assertThrows(IllegalArgumentException.class, () -> KernelBindingsGenerator.parseParams("double d"));
        assertTrue(e.getMessage().contains("double"), e.getMessage());
        assertEquals("layernormBackwardInput", KernelBindingsGenerator.camel("layernorm_backward_input"));
    }

    @Test
    void storageInstantiationsShareOneMethodThatPicksByDType() {
        var p = KernelBindingsGenerator.parseParams("float* out, const float* in, size_t n");
        String src = KernelBindingsGenerator.generate(List.of(new Kernel("scale_f32", "x.cu", p),
                new Kernel("scale_bf16", "x.cu", p), new Kernel("plain_thing", "x.cu", p)));
        assertTrue(src.contains("void scale(DType storage, Launch launch, CUdeviceptr out, CUdeviceptr in, long n)"),
                src);
        assertTrue(src.contains("case F32 -> \"scale_f32\";") && src.contains("case BF16 -> \"scale_bf16\";"), src);
        assertTrue(src.contains("void plainThing(Launch launch, CUdeviceptr out, CUdeviceptr in, long n)"), src);
        var other = KernelBindingsGenerator.parseParams("float* out, int n");
        var e = assertThrows(IllegalArgumentException.class, () -> KernelBindingsGenerator.generate(
                List.of(new Kernel("scale_f32", "x.cu", p), new Kernel("scale_bf16", "x.cu", other))));
        assertTrue(e.getMessage().contains("disagree"), e.getMessage());
    }

    @Test
    void launchShapesAreWholeWarpsWithin1024Threads() {
        Cost c = new Cost(0, 0);
        assertEquals(256, Launch.elementwise(1000, c).blockX());
        assertEquals(4, Launch.elementwise(1000, c).gridX());
        assertEquals(Launch.MAX_BLOCKS, Launch.elementwise(1L << 40, c).gridX());
        assertEquals(2, Launch.warpPerRow(9, c).gridX()); // 8 warps a block
        // map_elementwise kernels: a thread per 16 bytes, 4 floats or 8 bf16.
        assertEquals(4, Launch.vectorized(4 * 256 * 4, DType.F32, c).gridX());
        assertEquals(3, Launch.vectorized(4099, DType.BF16, c).gridX()); // 513 vectors (the last partial)
        assertEquals(32 * 32, Launch.columnTiles(33, c).blockX() * Launch.columnTiles(33, c).blockY());
        assertThrows(IllegalArgumentException.class, () -> Launch.blocks(1, 48, c));
        assertThrows(IllegalArgumentException.class, () -> new Launch(1, 64, 32, 0, c));
        assertThrows(IllegalArgumentException.class, () -> Launch.blocks(1, 256, c).withShared(-1));
    }

    /** The package-visible instance methods of Kernels, by name (names are unique). */
    private static Map<String, Method> bindings() {
        Map<String, Method> out = new TreeMap<>();
        for (Method m : Kernels.class.getDeclaredMethods()) {
            if (Modifier.isPrivate(m.getModifiers()) || Modifier.isStatic(m.getModifiers())) continue;
            assertTrue(out.put(m.getName(), m) == null, "overloaded binding " + m.getName());
        }
        return out;
    }
}
