package io.jgpt;

import io.jgpt.cli.BenchCommand;
import io.jgpt.cli.GenerateCommand;
import io.jgpt.cli.InfoCommand;
import java.util.Arrays;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code jgpt} command line: one subcommand per job. User errors ({@link JgptException}, bad arguments)
 * become one line on stderr and exit code 2, decided here and nowhere else; --debug adds the stack trace.
 */
@Command(name = "jgpt", mixinStandardHelpOptions = true, version = "jgpt 0.1.0",
        description = "GPT-2 from scratch in Java: a CPU reference engine and a CUDA backend.",
        subcommands = {BenchCommand.class, GenerateCommand.class, InfoCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs a command line and returns its exit code (used by tests without a child process). */
    public static int run(String... args) {
        boolean debug = Arrays.asList(args).contains("--debug");
        String[] rest = Arrays.stream(args).filter(a -> !a.equals("--debug")).toArray(String[]::new);
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            boolean user = e instanceof JgptException || e instanceof IllegalArgumentException;
            System.err.println("jgpt: " + (user ? "" : "internal error: ") + message(e));
            if (debug) e.printStackTrace();
            return user ? JgptException.EXIT_CODE : 1;
        });
        return cli.execute(rest);
    }

    private static String message(Throwable e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m.replace('\n', ' ');
    }
}
