package io.jgpt;

import io.jgpt.cli.BenchCommand;
import io.jgpt.cli.ConsoleLog;
import io.jgpt.cli.ConvertCommand;
import io.jgpt.cli.DemoCommand;
import io.jgpt.cli.EvalCommand;
import io.jgpt.cli.GenerateBenchCommand;
import io.jgpt.cli.GenerateCommand;
import io.jgpt.cli.InfoCommand;
import io.jgpt.cli.RooflineCommand;
import io.jgpt.cli.TokenizeCommand;
import io.jgpt.cli.TrainCommand;
import io.jgpt.io.IoErrors;
import java.io.UncheckedIOException;
import java.util.Arrays;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code jgpt} command line: one subcommand per job. User errors ({@link JgptException}, bad arguments)
 * become one line on stderr and exit code 2, decided here and nowhere else; --debug adds the stack trace.
 */
@Command(name = "jgpt", mixinStandardHelpOptions = true, version = "jgpt 0.1.0",
        description = "GPT-2 from scratch in Java: a CPU reference engine and a CUDA backend.",
        subcommands = {DemoCommand.class, TrainCommand.class, GenerateCommand.class, EvalCommand.class,
                TokenizeCommand.class, ConvertCommand.class, BenchCommand.class, GenerateBenchCommand.class, InfoCommand.class,
                RooflineCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static void main(String[] args) {
        int code;
        try {
            code = run(args);
        } catch (OutOfMemoryError e) {
            System.err.println("jgpt: out of Java heap memory; give the JVM more with JGPT_JAVA_OPTS=-Xmx<size>");
            code = 1;
        } catch (Error e) { // picocli handles exceptions; a linkage or VM error still gets one line, not a trace
            System.err.println("jgpt: internal error: " + message(e));
            if (debug) e.printStackTrace();
            code = 1;
        }
        System.exit(code);
    }

    /** Runs a command line and returns its exit code (used by tests without a child process). */
    public static int run(String... args) {
        debug = Arrays.asList(args).contains("--debug");
        String[] rest = Arrays.stream(args).filter(a -> !a.equals("--debug")).toArray(String[]::new);
        return execute(new Main(), rest);
    }

    private static boolean debug;

    /** Runs one command object with jgpt's error handling (also for commands that run other commands). */
    public static int execute(Object command, String... args) {
        ConsoleLog.install();
        CommandLine cli = new CommandLine(command);
        addDebugNote(cli);
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            // JgptException included; a file-system failure is the user's environment, not a bug in jgpt.
            boolean user = e instanceof IllegalArgumentException || e instanceof UncheckedIOException;
            String m = e instanceof UncheckedIOException io ? IoErrors.reason(io.getCause()) : message(e);
            System.err.println("jgpt: " + (user ? "" : "internal error: ") + m);
            if (debug) e.printStackTrace();
            return user ? JgptException.EXIT_CODE : 1;
        });
        cli.setParameterExceptionHandler((e, params) -> {
            System.err.println("jgpt: " + message(e) + " (see '" + e.getCommandLine().getCommandName() + " --help')");
            return JgptException.EXIT_CODE;
        });
        return cli.execute(args);
    }

    /** --debug is taken out of the arguments before parsing (any command accepts it); every help says so. */
    private static void addDebugNote(CommandLine cli) {
        String note = "%nAdd --debug to any command to print the stack trace of an error.";
        cli.getCommandSpec().usageMessage().footer(note);
        for (CommandLine sub : cli.getSubcommands().values()) addDebugNote(sub);
    }

    private static String message(Throwable e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m.replace('\n', ' ');
    }
}
