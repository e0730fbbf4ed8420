package io.jgpt;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code jgpt} command line: one subcommand per job. */
@Command(name = "jgpt", mixinStandardHelpOptions = true, version = "jgpt 0.1.0",
        description = "GPT-2 from scratch in Java: a CPU reference engine and a CUDA backend.",
        subcommands = {CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new Main()).execute(args));
    }
}
