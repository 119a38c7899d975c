// Command zeekanom reads Zeek logs, reconstructs per-host features over
// event-time windows, scores them and emits explained notices.
//
// This package is flags and wiring only; the work lives in zeekreader,
// detectors/ and output/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	// the time zones of [detectors.contextual] location, for sensors
	// without /usr/share/zoneinfo (minimal images): about 450 kB
	_ "time/tzdata"
)

type command struct {
	run   func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	brief string
}

func commands() map[string]command {
	return map[string]command{
		"cut":      {cmdCut, "print chosen columns of Zeek logs (TSV or JSON, plain or .gz), like zeek-cut"},
		"score":    {cmdScore, "re-score archived logs in batch and write notices"},
		"run":      {cmdRun, "follow live Zeek logs as a sidecar service"},
		"config":   {cmdConfig, "check a config file or print a commented example"},
		"setup":    {cmdSetup, "install the Elasticsearch template or write Kibana saved objects"},
		"train":    {cmdTrain, "learn baselines and models from archived logs"},
		"eval":     {cmdEval, "report precision/recall/F1 of the detectors on labelled logs"},
		"features": {cmdFeatures, "export per-host window feature vectors as CSV"},
		"inject":   {cmdInject, "plant labelled attacks into benign logs"},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: zeekanom COMMAND [flags] [args]\n\ncommands:")
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, cmds[n].brief)
	}
	fmt.Fprintln(w, "\nRun 'zeekanom COMMAND --help' for a command's flags.")
}

// errUsage marks an error whose message is already printed (the usage, for
// a command given no PATH).
var errUsage = errors.New("usage")

// usageError is a command-line mistake found after parsing (a missing -o,
// a flag value out of range): one sentence and exit 2, as a flag error.
type usageError string

func (e usageError) Error() string { return string(e) }

func usagef(format string, args ...any) error { return usageError(fmt.Sprintf(format, args...)) }

// exitConfig is the exit status of a config file that does not check
// (unreadable, a bad value, an unknown key, a model or secret file it
// names that cannot be read): EX_CONFIG of sysexits(3), which systemd
// shows as status=78/CONFIG. The unit's RestartPreventExitStatus=78
// leaves the service failed instead of starting it again every 5 s, for
// ever, until someone mends the file (Restart=on-failure's 5 s never
// reached the start limit).
const exitConfig = 78

// configError is an error of the config file (exitConfig).
type configError struct{ err error }

func (e configError) Error() string { return e.err.Error() }
func (e configError) Unwrap() error { return e.err }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	stderr = printableWriter{stderr}
	if len(args) == 0 {
		usage(stderr) // a usage error: no command
		return 2
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		return 0
	}
	c, ok := commands()[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "zeekanom: unknown command %q (try 'zeekanom --help')\n", args[0])
		return 2
	}
	err := c.run(ctx, args[1:], stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		// SIGINT or SIGTERM (main's context): say so, not "context canceled"
		fmt.Fprintf(stderr, "zeekanom %s: interrupted before the end of the input\n", args[0])
		return 1
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "zeekanom %s: %s\n", args[0], ue)
		return 2
	}
	fmt.Fprintf(stderr, "zeekanom %s: %s\n", args[0], oneSentence(err))
	if errors.As(err, new(configError)) {
		return exitConfig
	}
	return 1
}

// counted is n and its noun, singular for 1 ("1 notice", "2 notices"):
// the summaries said "1 notices". plural is the noun's plural where it is
// not noun+"s" ("copy", "copies").
func counted[N ~int | ~int64](n N, noun string, plural ...string) string {
	switch {
	case n == 1:
		return "1 " + noun
	case len(plural) > 0:
		return fmt.Sprintf("%d %s", n, plural[0])
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// oneSentence keeps a command-line error to one line.
func oneSentence(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// newFlags makes a FlagSet whose --help prints the synopsis and flags on
// stdout (for 'zeekanom score --help | less'; they went to standard
// error). A command line missing its arguments prints them on standard
// error instead (usageErr).
func newFlags(name, synopsis string, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("zeekanom "+name, flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: zeekanom %s %s\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// usageErr prints the synopsis and flags on standard error and returns
// errUsage (exit 2): the command line lacks its arguments.
func usageErr(fs *flag.FlagSet, stderr io.Writer) error {
	help := fs.Output()
	fs.SetOutput(stderr)
	fs.Usage()
	fs.SetOutput(help)
	return errUsage
}

// parseFlags parses args. --help prints the synopsis and flags
// (flag.ErrHelp); any other flag error (an unknown flag, a bad value) is
// one line naming it and where to look, exit 2: it used to be followed by
// the whole --help, the error itself scrolled off above it.
func parseFlags(fs *flag.FlagSet, args []string) error {
	out := fs.Output()
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(out)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		fs.Usage()
		return err
	}
	return usagef("%v (see '%s --help')", err, fs.Name())
}

// parseFlagsAnywhere is parseFlags for commands whose arguments are all
// PATHs: flags may also follow them, as in the documented
// 'zeekanom train PATH... -o model.json'. After "--" every argument is a
// PATH. fs.Args() returns the PATHs in order.
func parseFlagsAnywhere(fs *flag.FlagSet, args []string) error {
	var paths []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			paths = append(paths, rest...)
			break
		}
		paths = append(paths, rest[0])
		args = rest[1:]
	}
	// "--" so that no PATH is taken for a flag
	return fs.Parse(append([]string{"--"}, paths...))
}
