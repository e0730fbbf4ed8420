package io.jgpt.cuda.blas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.lang.classfile.Attributes;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassModel;
import java.lang.classfile.FieldModel;
import java.lang.classfile.MethodModel;
import java.lang.classfile.constantpool.IntegerEntry;
import java.lang.constant.ClassDesc;
import java.lang.constant.MethodTypeDesc;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@link CublasLt} without a GPU or a cuBLASLt header: its constants, attribute value sizes, function
 * signatures and the one struct offset it relies on, checked against the JavaCPP CUDA presets
 * (org.bytedeco:cuda, test scope), which are generated from NVIDIA's headers. The presets' classes are read
 * as class files (java.lang.classfile), never loaded, so their native libraries are not needed.
 */
class CublasLtBindingTest {

    private static final String CUBLAS = "org/bytedeco/cuda/global/cublas";
    private static final String CUDART = "org/bytedeco/cuda/global/cudart";
    private static final String HEURISTIC_RESULT = "org/bytedeco/cuda/cublas/cublasLtMatmulHeuristicResult_t";
    private static final Pattern C_TYPE = Pattern.compile("\\b(u?int32_t|u?int64_t|size_t)\\b|\\bvoid \\*");

    @Test
    void everyConstantMatchesTheHeaders() throws IOException {
        Map<String, Integer> headers = new java.util.HashMap<>(intConstants(CUBLAS));
        headers.putAll(intConstants(CUDART));
        List<String> wrong = new ArrayList<>();
        CublasLt.CONSTANTS.forEach((name, value) -> {
            Integer expected = headers.get(name);
            if (!value.equals(expected)) wrong.add(name + ": binding " + value + ", headers " + expected);
        });
        assertTrue(wrong.isEmpty(), String.join("\n", wrong));
        // FfmCublas's status names come from the same enum.
        for (int status : List.of(0, 1, 3, 7, 8, 11, 13, 14, 15, 16)) {
            assertEquals(status, headers.get(FfmCublas.statusName(status)), FfmCublas.statusName(status));
        }
    }

    @Test
    void everyAttributeValueHasTheHeadersSize() throws IOException {
        String source = read(CUBLAS + ".java");
        List<String> wrong = new ArrayList<>();
        for (CublasLt.Attribute a : CublasLt.Attribute.values()) {
            Set<Integer> sizes = documentedSizes(source, a.header);
            if (!sizes.equals(Set.of(a.bytes))) wrong.add(a.header + ": binding " + a.bytes + " bytes, header says " + sizes);
        }
        assertTrue(wrong.isEmpty(), String.join("\n", wrong));
    }

    @Test
    void everyFunctionHasTheHeadersSignature() throws IOException {
        ClassModel cublas = classModel(CUBLAS);
        List<String> wrong = new ArrayList<>();
        CublasLt.FUNCTIONS.forEach((name, descriptor) -> {
            List<String> overloads = new ArrayList<>();
            boolean match = false;
            for (MethodModel m : cublas.methods()) {
                if (!m.methodName().equalsString(name)) continue;
                MethodTypeDesc type = m.methodTypeSymbol();
                overloads.add(type.displayDescriptor());
                match |= kinds(type).equals(kinds(descriptor));
            }
            if (!match) wrong.add(name + ": binding " + kinds(descriptor) + ", headers " + overloads);
        });
        assertTrue(wrong.isEmpty(), String.join("\n", wrong));
    }

    @Test
    void cublasGemmExHasTheHeadersSignature() throws IOException {
        List<String> overloads = new ArrayList<>();
        boolean match = false;
        for (MethodModel m : classModel(CUBLAS).methods()) {
            if (!m.methodName().equalsString("cublasGemmEx")) continue;
            overloads.add(m.methodTypeSymbol().displayDescriptor());
            match |= kinds(m.methodTypeSymbol()).equals(kinds(FfmCublas.GEMM_EX));
        }
        assertTrue(match, "cublasGemmEx: binding " + kinds(FfmCublas.GEMM_EX) + ", headers " + overloads);
    }

    /** The binding reads only the algorithm at offset 0 of a heuristic result; the rest must fit its buffer. */
    @Test
    void heuristicResultStartsWithTheAlgorithm() throws IOException {
        List<String> members = new ArrayList<>();
        for (MethodModel m : classModel(HEURISTIC_RESULT).methods()) {
            String name = m.methodName().stringValue();
            if (m.flags().has(java.lang.reflect.AccessFlag.NATIVE) && !name.startsWith("allocate")
                    && !members.contains(name)) members.add(name);
        }
        assertEquals(List.of("algo", "workspaceSize", "state", "wavesCount", "reserved"), members);
        // algo (uint64_t data[8]) + size_t + cublasStatus_t + float + int reserved[4] = 96 bytes in the
        // header; a struct that grew by new members would fail the member list above first.
        assertTrue(CublasLt.HEURISTIC_RESULT_BYTES >= 96);
    }

    @Test
    void cublasLtIsFoundBesideCublas() {
        assertEquals(Path.of("/w/lib/libcublasLt.so.13"), CublasLt.besideCublas(Path.of("/w/lib/libcublas.so.13")));
        assertEquals(256, CublasLt.alignment(0));
        assertEquals(16, CublasLt.alignment(0x7000_0010L | 0x7000_0100L));
    }

    // ---- reading the presets --------------------------------------------------------------------------

    private static Map<String, Integer> intConstants(String className) throws IOException {
        Map<String, Integer> out = new java.util.HashMap<>();
        for (FieldModel f : classModel(className).fields()) {
            f.findAttribute(Attributes.constantValue()).ifPresent(cv -> {
                if (cv.constant() instanceof IntegerEntry i) out.put(f.fieldName().stringValue(), i.intValue());
            });
        }
        assertTrue(out.size() > 100, className + " has too few int constants: wrong presets jar?");
        return out;
    }

    /** The sizes of the C types named in the doc comment right above {@code name = } in the presets' source. */
    private static Set<Integer> documentedSizes(String source, String name) {
        Matcher def = Pattern.compile("\\n\\s+" + name + " = ").matcher(source);
        assertTrue(def.find(), name + " not in the presets' source");
        int end = source.lastIndexOf("*/", def.start()), start = source.lastIndexOf("/**", end);
        assertTrue(start >= 0 && source.substring(end + 2, def.start()).isBlank(), name + " has no doc comment");
        Set<Integer> sizes = new TreeSet<>();
        Matcher t = C_TYPE.matcher(source.substring(start, end));
        while (t.find()) sizes.add(t.group().contains("32") ? 4 : 8);
        return sizes;
    }

    /** "I", "J", "F" or "P" (any pointer, struct handle or array) per parameter, return value first. */
    private static List<String> kinds(MethodTypeDesc type) {
        List<String> k = new ArrayList<>();
        k.add(kind(type.returnType()));
        for (ClassDesc p : type.parameterList()) k.add(kind(p));
        return k;
    }

    private static String kind(ClassDesc c) {
        return c.isPrimitive() ? c.descriptorString() : "P";
    }

    private static List<String> kinds(FunctionDescriptor fd) {
        List<String> k = new ArrayList<>();
        k.add(kind(fd.returnLayout().orElseThrow()));
        for (MemoryLayout l : fd.argumentLayouts()) k.add(kind(l));
        return k;
    }

    private static String kind(MemoryLayout l) {
        if (l.equals(ValueLayout.JAVA_INT)) return "I";
        if (l.equals(ValueLayout.JAVA_LONG)) return "J";
        if (l.equals(ValueLayout.JAVA_FLOAT)) return "F";
        if (l.equals(ValueLayout.ADDRESS)) return "P";
        throw new AssertionError("unexpected layout " + l);
    }

    private static ClassModel classModel(String className) throws IOException {
        try (InputStream in = resource(className + ".class")) {
            return ClassFile.of().parse(in.readAllBytes());
        }
    }

    private static String read(String path) throws IOException {
        try (InputStream in = resource(path)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static InputStream resource(String path) {
        InputStream in = CublasLtBindingTest.class.getClassLoader().getResourceAsStream(path);
        assertNotNull(in, path + " not on the test classpath (org.bytedeco:cuda presets, test scope)");
        return in;
    }
}
