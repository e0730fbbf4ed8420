package io.jgpt.cuda;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Writes {@code java/io/jgpt/cuda/Kernels.java}, one typed Java launch method per {@code extern "C" __global__}
 * kernel in kernels/*.cu, so that launching a kernel with the wrong number, order or size of arguments does not
 * compile. {@link KernelSignatureTest} fails while the committed file differs from what this writes. Rewrite it
 * from the repository root with {@code java tests/io/jgpt/cuda/KernelBindingsGenerator.java} (needs only the JDK,
 * so it works while the old bindings no longer compile), or run that test with {@code -Djgpt.regenerate=true}.
 *
 * <p>C parameters map by size: any pointer to {@code CUdeviceptr} (8 bytes, null passes a null pointer);
 * {@code int}/{@code unsigned} to {@code int}; {@code size_t}, {@code long long} and their unsigned forms to
 * {@code long}; {@code float} to {@code float}. Anything else is refused. Kernels whose names end in a storage
 * suffix ({@code _f32}, {@code _bf16}) are instantiations of one template; they share one method that takes the
 * {@code DType} and picks the instantiation, and must agree parameter for parameter.
 */
final class KernelBindingsGenerator {

    static final Path OUTPUT = Path.of("java/io/jgpt/cuda/Kernels.java");

    private static final Pattern KERNEL =
            Pattern.compile("extern\\s+\"C\"\\s+__global__\\s+void\\s+(\\w+)\\s*\\(([^)]*)\\)", Pattern.DOTALL);

    /** Storage suffixes of template instantiations and the Java DType constant each stands for. */
    static final Map<String, String> STORAGE = linked("_f32", "F32", "_bf16", "BF16");

    enum JavaType {
        PTR("CUdeviceptr", "ptr"), INT("int", "i32"), LONG("long", "i64"), FLOAT("float", "f32");

        final String java, packer;

        JavaType(String java, String packer) {
            this.java = java;
            this.packer = packer;
        }
    }

    record Param(String cType, String name, JavaType type) {}

    record Kernel(String name, String file, List<Param> params) {
        /** The C signature as written, normalised to one line. */
        String signature() {
            return name + "(" + String.join(", ", params.stream().map(p -> p.cType + " " + p.name).toList()) + ")";
        }

        List<JavaType> types() {
            return params.stream().map(Param::type).toList();
        }
    }

    private KernelBindingsGenerator() {}

    public static void main(String[] args) throws IOException {
        Files.writeString(OUTPUT, generate(parse(Path.of("kernels"))));
    }

    /** Every extern "C" kernel of the .cu files in {@code dir}, by file then position. */
    static List<Kernel> parse(Path dir) throws IOException {
        List<Kernel> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.filter(f -> f.toString().endsWith(".cu")).sorted().toList()) {
                String src = Files.readString(p).replaceAll("//[^\n]*", "");
                Matcher m = KERNEL.matcher(src);
                while (m.find()) out.add(new Kernel(m.group(1), p.getFileName().toString(), parseParams(m.group(2))));
            }
        }
        return out;
    }

    static List<Param> parseParams(String params) {
        List<Param> out = new ArrayList<>();
        if (params.isBlank()) return out;
        for (String raw : params.split(",")) {
            String p = raw.strip().replaceAll("\\s+", " ");
            Matcher m = Pattern.compile("(.*?)\\s*\\b(\\w+)$").matcher(p);
            if (!m.matches()) throw new IllegalArgumentException("cannot read kernel parameter '" + p + "'");
            String cType = m.group(1).replace(" *", "*"), name = m.group(2);
            out.add(new Param(cType, name, javaType(cType)));
        }
        return out;
    }

    static JavaType javaType(String cType) {
        if (cType.contains("*")) return JavaType.PTR;
        String t = cType.replaceAll("\\b(const|volatile|__restrict__)\\b", "").strip().replaceAll("\\s+", " ");
        return switch (t) {
            case "int", "unsigned", "unsigned int", "int32_t", "uint32_t" -> JavaType.INT;
            case "size_t", "long long", "long long int", "unsigned long long", "unsigned long long int",
                 "int64_t", "uint64_t" -> JavaType.LONG;
            case "float" -> JavaType.FLOAT;
            default -> throw new IllegalArgumentException("no Java launch type for kernel parameter type '" + cType
                    + "'");
        };
    }

    /** The suffix of a template instantiation's name, or null for a plain kernel. */
    static String storageSuffix(String kernel) {
        for (String s : STORAGE.keySet()) if (kernel.endsWith(s)) return s;
        return null;
    }

    /** {@code layernorm_backward_input} to {@code layernormBackwardInput}. */
    static String camel(String snake) {
        StringBuilder b = new StringBuilder();
        boolean up = false;
        for (char c : snake.toCharArray()) {
            if (c == '_') up = true;
            else {
                b.append(up ? Character.toUpperCase(c) : c);
                up = false;
            }
        }
        return b.toString();
    }

    static String generate(List<Kernel> kernels) {
        // Group template instantiations under their base name, keeping the first appearance's position.
        Map<String, List<Kernel>> groups = new LinkedHashMap<>();
        for (Kernel k : kernels) {
            String suffix = storageSuffix(k.name);
            String base = suffix == null ? k.name : k.name.substring(0, k.name.length() - suffix.length());
            List<Kernel> g = groups.computeIfAbsent(base, x -> new ArrayList<>());
            if (!g.isEmpty() && (suffix == null || storageSuffix(g.getFirst().name) == null))
                throw new IllegalArgumentException("kernel " + k.name + " clashes with another kernel named " + base);
            if (!g.isEmpty() && !g.getFirst().types().equals(k.types()))
                throw new IllegalArgumentException("instantiations of " + base + " disagree: " + g.getFirst().signature()
                        + " vs " + k.signature());
            g.add(k);
        }
        StringBuilder out = new StringBuilder();
        out.append("""
                // GENERATED from kernels/*.cu by tests/io/jgpt/cuda/KernelBindingsGenerator.java; do not edit.
                // After changing a kernel signature, from the repository root: java tests/io/jgpt/cuda/KernelBindingsGenerator.java
                package io.jgpt.cuda;

                import io.jgpt.tensor.Tensor.DType;
                import jcuda.driver.CUdeviceptr;

                /**
                 * One typed launch method per {@code extern "C"} kernel in kernels/*.cu: a wrong argument count, order or
                 * size does not compile. A pointer is a {@code CUdeviceptr} (null passes a null pointer); C {@code int} is
                 * {@code int}; {@code size_t} and {@code unsigned long long} are {@code long}; {@code float} is {@code float}.
                 * A kernel templated on its storage type has one method taking the {@link DType} of the instantiation.
                 */
                final class Kernels {

                    private final KernelLauncher launcher;

                    Kernels(KernelLauncher launcher) {
                        this.launcher = launcher;
                    }
                """);
        for (var e : groups.entrySet()) out.append('\n').append(method(e.getKey(), e.getValue()));
        out.append("""

                    private static IllegalArgumentException noInstantiation(String kernel, DType storage) {
                        return new IllegalArgumentException("kernel " + kernel + " has no " + storage + " instantiation");
                    }
                }
                """);
        return out.toString();
    }

    private static String method(String base, List<Kernel> instantiations) {
        Kernel first = instantiations.getFirst();
        boolean templated = storageSuffix(first.name) != null;
        StringBuilder b = new StringBuilder();
        String shown = templated ? base + "_<storage>" + first.signature().substring(first.name.length())
                : first.signature();
        List<String> words = List.of(javadoc("kernels/" + first.file + ": {@code " + shown + "}").split(" "));
        b.append("    /**\n").append(words(words)).append("\n     */\n");
        List<String> params = new ArrayList<>();
        if (templated) params.add("DType storage");
        params.add("Launch launch");
        for (Param p : first.params) params.add(p.type.java + " " + camel(p.name));
        b.append(wrap("    void " + camel(base) + "(", params, ", ", ") {")).append('\n');
        String name = "\"" + first.name + "\"";
        if (templated) {
            b.append("        String kernel = switch (storage) {\n");
            for (Kernel k : instantiations)
                b.append("            case ").append(STORAGE.get(storageSuffix(k.name))).append(" -> \"")
                        .append(k.name).append("\";\n");
            b.append("            default -> throw noInstantiation(\"").append(base).append("\", storage);\n");
            b.append("        };\n");
            name = "kernel";
        }
        List<String> packs = new ArrayList<>();
        for (Param p : first.params) packs.add("." + p.type.packer + "(" + camel(p.name) + ")");
        b.append(wrap("        launcher.launch(" + name + ", launch, new KernelArgs(" + first.params.size() + ")",
                packs, "", ");")).append('\n');
        b.append("    }\n");
        return b.toString();
    }

    private static String javadoc(String s) {
        return s.replace("*/", "*&#47;");
    }

    /** Javadoc body lines of at most 120 columns. */
    private static String words(List<String> words) {
        StringBuilder b = new StringBuilder("     *");
        int col = b.length();
        for (String w : words) {
            if (col + 1 + w.length() > 120) {
                b.append("\n     *");
                col = 6;
            }
            b.append(' ').append(w);
            col += 1 + w.length();
        }
        return b.toString();
    }

    /**
     * head, the items joined by {@code sep} (", " between parameters, "" along a method chain), then tail;
     * wrapped at 120 columns with a 16-column continuation indent.
     */
    private static String wrap(String head, List<String> items, String sep, String tail) {
        StringBuilder b = new StringBuilder(head);
        int col = head.length();
        for (int i = 0; i < items.size(); i++) {
            String item = items.get(i) + (i + 1 < items.size() ? sep.strip() : tail);
            String gap = i == 0 || sep.isEmpty() ? "" : " ";
            if (col + gap.length() + item.length() > 120) {
                b.append("\n                ");
                col = 16;
                gap = "";
            }
            b.append(gap).append(item);
            col += gap.length() + item.length();
        }
        if (items.isEmpty()) b.append(tail);
        return b.toString();
    }

    private static Map<String, String> linked(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put(kv[i], kv[i + 1]);
        return m;
    }
}
