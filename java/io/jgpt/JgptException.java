package io.jgpt;

/**
 * A problem the user can fix (a bad file, flag or device). It is an IllegalArgumentException because that is
 * what it is: bad input, reported where it is found, never a bug in jgpt. The command line prints its message as one line
 * and exits with {@link #EXIT_CODE}; no stack trace unless --debug.
 */
public class JgptException extends IllegalArgumentException {
    public static final int EXIT_CODE = 2;

    public JgptException(String message) {
        super(message);
    }

    public JgptException(String message, Throwable cause) {
        super(message, cause);
    }
}
