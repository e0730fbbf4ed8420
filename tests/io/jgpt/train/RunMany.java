package io.jgpt.train;

import io.jgpt.Main;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Several jgpt command lines, separated by "--next", one after the other in one process: under mpirun this
 * starts the ranks' JVMs (seconds each) once for several runs. Exits with the first non-zero exit code.
 */
public final class RunMany {
    public static void main(String[] args) {
        List<String> current = new ArrayList<>();
        for (String a : Arrays.copyOf(args, args.length + 1)) {
            if (a == null || a.equals("--next")) {
                int code = Main.run(current.toArray(String[]::new));
                if (code != 0) System.exit(code);
                current.clear();
            } else {
                current.add(a);
            }
        }
        System.exit(0);
    }
}
