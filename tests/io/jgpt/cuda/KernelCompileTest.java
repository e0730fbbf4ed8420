package io.jgpt.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Compiles all kernels as the build does (one translation unit) with ptxas's resource report, and fails
 * on any kernel that spills or uses a stack frame (local memory), or that ptxas did not compile.
 */
class KernelCompileTest {

    private static final Path KERNELS = Path.of("kernels");
    private static final Pattern ENTRY = Pattern.compile("extern\\s+\"C\"\\s+__global__\\s+void\\s+(\\w+)");
    private static final Pattern COMPILING = Pattern.compile("Compiling entry function '(\\w+)'");
    private static final Pattern PROPERTIES = Pattern.compile("Function properties for (\\w+)");
    private static final Pattern FRAME =
            Pattern.compile("(\\d+) bytes stack frame, (\\d+) bytes spill stores, (\\d+) bytes spill loads");
    private static final Pattern REGISTERS = Pattern.compile("Used (\\d+) registers");
    private static final Pattern LMEM = Pattern.compile("(\\d+) bytes lmem");

    /** ptxas's report for one function. */
    private static final class Usage {
        int registers = -1;
        long stack, spillStores, spillLoads, lmem;
    }

    @ParameterizedTest
    @ValueSource(strings = {"sm_80", "sm_90"})
    void kernelsCompileWithoutSpills(String arch, @TempDir Path tmp) throws Exception {
        String nvcc = findNvcc();
        Assumptions.assumeTrue(nvcc != null, "nvcc not found (set NVCC or put it on PATH): kernels not checked");
        List<Path> sources = kernelSources();
        Path unity = tmp.resolve("unity.cu");
        StringBuilder sb = new StringBuilder();
        for (Path p : sources) sb.append("#include \"").append(p.toAbsolutePath()).append("\"\n");
        Files.writeString(unity, sb);

        Process proc = new ProcessBuilder(nvcc, "-cubin", "-arch=" + arch, "-O3", "-std=c++17",
                "-I" + KERNELS.toAbsolutePath(), "-Xptxas", "-v", "-o", tmp.resolve("k.cubin").toString(),
                unity.toString()).redirectErrorStream(true).start();
        String log = new String(proc.getInputStream().readAllBytes());
        assertEquals(0, proc.waitFor(), "nvcc failed for " + arch + ":\n" + log);

        Map<String, Usage> usage = parse(log);
        TreeSet<String> expected = new TreeSet<>();
        for (Path p : sources) {
            Matcher m = ENTRY.matcher(Files.readString(p));
            while (m.find()) expected.add(m.group(1));
        }
        assertTrue(expected.size() > 0, "no extern \"C\" __global__ kernels found in " + KERNELS);
        List<String> problems = new ArrayList<>();
        StringBuilder report = new StringBuilder("ptxas " + arch + ":\n");
        for (String name : expected) {
            Usage u = usage.get(name);
            if (u == null) {
                problems.add(name + ": not in ptxas output");
                continue;
            }
            report.append(String.format("  %-34s %3d registers%n", name, u.registers));
            if (u.stack > 0 || u.spillStores > 0 || u.spillLoads > 0 || u.lmem > 0)
                problems.add(String.format("%s: %d bytes stack frame, %d spill stores, %d spill loads, %d lmem",
                        name, u.stack, u.spillStores, u.spillLoads, u.lmem));
        }
        System.out.print(report);
        assertTrue(problems.isEmpty(), arch + " kernels use local memory:\n" + String.join("\n", problems)
                + "\n\nptxas output:\n" + log);
    }

    private static Map<String, Usage> parse(String log) {
        Map<String, Usage> usage = new TreeMap<>();
        Usage current = null;
        for (String line : log.split("\n")) {
            Matcher m;
            if ((m = COMPILING.matcher(line)).find() || (m = PROPERTIES.matcher(line)).find()) {
                current = usage.computeIfAbsent(m.group(1), k -> new Usage());
                continue;
            }
            if (current == null) continue;
            if ((m = FRAME.matcher(line)).find()) {
                current.stack = Long.parseLong(m.group(1));
                current.spillStores = Long.parseLong(m.group(2));
                current.spillLoads = Long.parseLong(m.group(3));
            }
            if ((m = REGISTERS.matcher(line)).find()) current.registers = Integer.parseInt(m.group(1));
            if ((m = LMEM.matcher(line)).find()) current.lmem = Long.parseLong(m.group(1));
        }
        return usage;
    }

    private static List<Path> kernelSources() throws IOException {
        try (Stream<Path> s = Files.list(KERNELS)) {
            return s.filter(p -> p.toString().endsWith(".cu")).sorted().toList();
        }
    }

    static String findNvcc() {
        String env = System.getenv("NVCC");
        if (env != null && new File(env).canExecute()) return env;
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            File f = new File(dir, "nvcc");
            if (f.canExecute()) return f.getPath();
        }
        File cuda = new File("/usr/local/cuda/bin/nvcc");
        return cuda.canExecute() ? cuda.getPath() : null;
    }
}
