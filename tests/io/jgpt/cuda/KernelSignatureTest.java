package io.jgpt.cuda;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.source.tree.CompilationUnitTree;
import com.sun.source.tree.ExpressionTree;
import com.sun.source.tree.IdentifierTree;
import com.sun.source.tree.LiteralTree;
import com.sun.source.tree.MemberSelectTree;
import com.sun.source.tree.MethodInvocationTree;
import com.sun.source.util.JavacTask;
import com.sun.source.util.TreePath;
import com.sun.source.util.TreePathScanner;
import com.sun.source.util.Trees;
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
import javax.lang.model.element.Element;
import javax.lang.model.element.VariableElement;
import javax.lang.model.type.TypeMirror;
import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Every kernel launch in {@link CudaOps} against the {@code extern "C" __global__} signature in kernels/*.cu,
 * without a GPU: javac attributes the Java argument expressions, and their static types must match the C
 * parameters one for one (count, order, and size: {@link CudaContext} packs an int as 4 bytes, a long as 8, a
 * float as 4, a tensor or device pointer as 8). A mismatch would silently shift every following argument.
 * Also checks that each launched name exists and that constant block shapes are whole warps within 1024.
 */
class KernelSignatureTest {

    /** The argument kinds a launch can pass (see CudaContext.param). */
    enum Kind { PTR, INT, LONG, FLOAT, UNSUPPORTED }

    private static final Pattern KERNEL =
            Pattern.compile("extern\\s+\"C\"\\s+__global__\\s+void\\s+(\\w+)\\s*\\(([^)]*)\\)", Pattern.DOTALL);

    /** One launch site: the kernel name, the Java argument kinds, the constant block shape if known. */
    record Launch(String kernel, List<Kind> args, List<String> argText, Integer blockX, Integer blockY, long line) {}

    @Test
    void everyLaunchMatchesItsKernelSignature() throws IOException {
        Map<String, List<Kind>> signatures = cudaSignatures(Path.of("kernels"));
        assertTrue(signatures.size() > 10, "kernels found: " + signatures.keySet());
        List<Launch> launches = javaLaunches(Path.of("java/io/jgpt/cuda/CudaOps.java"));
        assertTrue(launches.size() > 10, "launches found: " + launches);

        List<String> problems = new ArrayList<>();
        TreeSet<String> unlaunched = new TreeSet<>(signatures.keySet());
        for (Launch l : launches) {
            unlaunched.remove(l.kernel);
            List<Kind> want = signatures.get(l.kernel);
            String at = "CudaOps.java:" + l.line + " " + l.kernel;
            if (want == null) {
                problems.add(at + ": no such extern \"C\" kernel in kernels/*.cu");
                continue;
            }
            if (!want.equals(l.args))
                problems.add(at + ": Java passes " + l.args + " " + l.argText + " but the kernel takes " + want);
            if (l.blockX != null && l.blockY != null) {
                int threads = l.blockX * l.blockY;
                if (threads > 1024 || l.blockX % 32 != 0)
                    problems.add(at + ": block (" + l.blockX + "," + l.blockY + ") is not whole warps within 1024 threads");
            }
        }
        if (!unlaunched.isEmpty()) problems.add("kernels never launched from CudaOps: " + unlaunched);
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }

    @Test
    void signatureParserClassifiesCTypes() {
        assertTrue(parseParams("float* a, const int* b, int n, size_t m, unsigned long long key, float s, const void* p")
                .equals(List.of(Kind.PTR, Kind.PTR, Kind.INT, Kind.LONG, Kind.LONG, Kind.FLOAT, Kind.PTR)));
        assertTrue(parseParams("double d, long long x, int64_t y").equals(List.of(Kind.UNSUPPORTED, Kind.LONG, Kind.LONG)));
    }

    // ---- the .cu side ------------------------------------------------------------------------------

    static Map<String, List<Kind>> cudaSignatures(Path dir) throws IOException {
        Map<String, List<Kind>> out = new TreeMap<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.filter(f -> f.toString().endsWith(".cu")).sorted().toList()) {
                String src = Files.readString(p).replaceAll("//[^\n]*", "");
                Matcher m = KERNEL.matcher(src);
                while (m.find()) out.put(m.group(1), parseParams(m.group(2)));
            }
        }
        return out;
    }

    static List<Kind> parseParams(String params) {
        List<Kind> kinds = new ArrayList<>();
        if (params.isBlank()) return kinds;
        for (String raw : params.split(",")) {
            String p = raw.strip().replaceAll("\\s+", " ");
            if (p.contains("*")) {
                kinds.add(Kind.PTR);
                continue;
            }
            String type = p.replaceAll("\\b(const|__restrict__|volatile)\\b", "").strip();
            type = type.substring(0, type.lastIndexOf(' ')).strip().replaceAll("\\s+", " "); // drop the name
            kinds.add(switch (type) {
                case "int", "unsigned", "unsigned int", "int32_t", "uint32_t" -> Kind.INT;
                case "size_t", "long long", "long long int", "unsigned long long", "unsigned long long int",
                     "int64_t", "uint64_t" -> Kind.LONG;
                case "float" -> Kind.FLOAT;
                default -> Kind.UNSUPPORTED;
            });
        }
        return kinds;
    }

    // ---- the Java side -----------------------------------------------------------------------------

    static List<Launch> javaLaunches(Path source) throws IOException {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        Assumptions.assumeTrue(javac != null, "no system Java compiler in this runtime");
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        try (StandardJavaFileManager files = javac.getStandardFileManager(null, null, null)) {
            List<String> options = List.of("-proc:none", "-implicit:none", "-Xlint:none", "--add-modules",
                    "jdk.incubator.vector", "-sourcepath", "java", "-classpath", System.getProperty("java.class.path"));
            JavacTask task = (JavacTask) javac.getTask(null, files, diagnostics, options, null,
                    files.getJavaFileObjects(source));
            Iterable<? extends CompilationUnitTree> units = task.parse();
            task.analyze();
            List<String> errors = diagnostics.getDiagnostics().stream()
                    .filter(d -> d.getKind() == Diagnostic.Kind.ERROR).map(Object::toString).toList();
            assertTrue(errors.isEmpty(), "javac could not attribute " + source + ":\n" + String.join("\n", errors));
            Trees trees = Trees.instance(task);
            List<Launch> launches = new ArrayList<>();
            for (CompilationUnitTree unit : units) {
                new TreePathScanner<Void, Void>() {
                    @Override
                    public Void visitMethodInvocation(MethodInvocationTree call, Void v) {
                        String method = call.getMethodSelect() instanceof IdentifierTree id ? id.getName().toString() : "";
                        int fixed = method.equals("kernel") ? 6 : method.equals("kernelShared") ? 7 : -1;
                        if (fixed > 0 && call.getArguments().getFirst() instanceof LiteralTree lit) {
                            List<? extends ExpressionTree> a = call.getArguments();
                            List<Kind> kinds = new ArrayList<>();
                            List<String> text = new ArrayList<>();
                            for (ExpressionTree e : a.subList(fixed, a.size())) {
                                kinds.add(kind(trees, new TreePath(getCurrentPath(), e)));
                                text.add(e.toString());
                            }
                            long line = unit.getLineMap().getLineNumber(
                                    trees.getSourcePositions().getStartPosition(unit, call));
                            launches.add(new Launch((String) lit.getValue(), kinds, text,
                                    constant(trees, getCurrentPath(), a.get(4)),
                                    constant(trees, getCurrentPath(), a.get(5)), line));
                        }
                        return super.visitMethodInvocation(call, v);
                    }
                }.scan(unit, null);
            }
            return launches;
        }
    }

    private static Kind kind(Trees trees, TreePath path) {
        TypeMirror t = trees.getTypeMirror(path);
        return switch (t.getKind()) {
            case INT -> Kind.INT;
            case LONG -> Kind.LONG;
            case FLOAT -> Kind.FLOAT;
            case NULL -> Kind.PTR;
            case DECLARED -> switch (t.toString()) {
                case "java.lang.Integer" -> Kind.INT;
                case "java.lang.Long" -> Kind.LONG;
                case "java.lang.Float" -> Kind.FLOAT;
                // Tensors, device pointers, and the Object-typed dst/src of the head helpers (always one of those).
                case "io.jgpt.tensor.Tensor", "io.jgpt.cuda.CudaTensor", "jcuda.driver.CUdeviceptr", "java.lang.Object" ->
                        Kind.PTR;
                default -> Kind.UNSUPPORTED;
            };
            default -> Kind.UNSUPPORTED;
        };
    }

    /** The value of an int literal or int constant, else null. */
    private static Integer constant(Trees trees, TreePath parent, ExpressionTree e) {
        if (e instanceof LiteralTree lit && lit.getValue() instanceof Integer i) return i;
        if (e instanceof IdentifierTree || e instanceof MemberSelectTree) {
            Element el = trees.getElement(new TreePath(parent, e));
            if (el instanceof VariableElement ve && ve.getConstantValue() instanceof Integer i) return i;
        }
        return null;
    }
}
