package io.jgpt.cli;

import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/** Command lines jgpt prints for the user to paste (resume, generate): quoted for a POSIX shell. */
final class Shell {
    private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9_./:=@%+,-]+");

    private Shell() {}

    static String quote(String arg) {
        return PLAIN.matcher(arg).matches() ? arg : "'" + arg.replace("'", "'\\''") + "'";
    }

    static String command(List<String> args) {
        return args.stream().map(Shell::quote).collect(Collectors.joining(" "));
    }
}
