import java.io.FileOutputStream;
import java.io.OutputStream;
import java.nio.file.Path;

import org.elasticsearch.bootstrap.ServerArgs;
import org.elasticsearch.common.io.stream.OutputStreamStreamOutput;
import org.elasticsearch.common.settings.KeyStoreWrapper;
import org.elasticsearch.common.settings.Settings;

/**
 * Writes the serialized ServerArgs that org.elasticsearch.bootstrap.Elasticsearch
 * reads from its standard input (the job of the distribution's server-cli,
 * which is not on Maven Central).
 *
 * Usage: ServerArgsWriter OUT CONFIG_DIR LOGS_DIR PID_FILE key=value...
 */
public class ServerArgsWriter {
    public static void main(String[] args) throws Exception {
        Settings.Builder b = Settings.builder();
        for (int i = 4; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            b.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        KeyStoreWrapper keystore = KeyStoreWrapper.create();
        ServerArgs sa = new ServerArgs(true, true, Path.of(args[3]), keystore, b.build(), Path.of(args[1]), Path.of(args[2]));
        try (OutputStream os = new FileOutputStream(args[0]); OutputStreamStreamOutput out = new OutputStreamStreamOutput(os)) {
            sa.writeTo(out);
        }
    }
}
