package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// installFuncs is the shell of scripts/install's log_dirs and grant_logs,
// run here on their own (the script as a whole needs root and systemd).
func installFuncs(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "scripts", "install"))
	if err != nil {
		t.Fatal(err)
	}
	fn := regexp.MustCompile(`(?ms)^log_dirs\(\) \{.*?^\}\n.*?^grant_logs\(\) \{.*?^\}\n`).Find(b)
	if fn == nil {
		t.Fatal("scripts/install: no log_dirs and grant_logs functions")
	}
	return string(fn)
}

func installShell(t *testing.T, fn, call string, args ...string) string {
	t.Helper()
	out, err := exec.Command("bash", append([]string{"-euo", "pipefail", "-c", fn + call, "install"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %q: %v: %s", call, args, err, out)
	}
	return string(out)
}

// scripts/install gives group zeekanom read access to the directories run
// reads: the log directory and, for zeekctl's logs/current, the archive
// beside it ([input] archive_dir's default). It gave the log directory's
// parent, whatever it was: a standalone Zeek's /var/log/zeek gave the
// group all of /var/log; and it left out zeekctl's live logs, since
// logs/current is a link to spool/zeek that setfacl -R does not follow.
func TestInstallLogDirs(t *testing.T) {
	fn := installFuncs(t)
	for _, c := range []struct{ logdir, want string }{
		{"/opt/zeek/logs/current", "/opt/zeek/logs/current\n/opt/zeek/logs\n"},
		{"/opt/zeek/logs/current/", "/opt/zeek/logs/current\n/opt/zeek/logs\n"},
		{"/nsm/zeek/logs/current", "/nsm/zeek/logs/current\n/nsm/zeek/logs\n"},
		{"/var/log/zeek", "/var/log/zeek\n"},
		{"/opt/zeek/spool/zeek", "/opt/zeek/spool/zeek\n"},
		{"/current", "/current\n"}, // never the whole file system
	} {
		if got := installShell(t, fn, `log_dirs "$1"`, c.logdir); got != c.want {
			t.Errorf("log_dirs %s = %q, want %q", c.logdir, got, c.want)
		}
	}
}

// The same with the ACLs themselves, on a zeekctl layout and a standalone
// one, where setfacl and ACLs are there (the group is this process's own).
func TestInstallGrantsTheLogsOnly(t *testing.T) {
	fn := installFuncs(t)
	if _, err := exec.LookPath("setfacl"); err != nil {
		t.Skip("no setfacl")
	}
	root := t.TempDir()
	gid := strconv.Itoa(os.Getgid())
	probe := filepath.Join(root, "probe")
	os.WriteFile(probe, nil, 0o600)
	if out, err := exec.Command("setfacl", "-m", "g:"+gid+":r", probe).CombinedOutput(); err != nil {
		t.Skipf("no ACLs here: %s", out)
	}
	file := func(p string) string {
		p = filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	granted := func(p string) bool {
		out, err := exec.Command("getfacl", "-n", "-p", p).CombinedOutput()
		if err != nil {
			t.Fatalf("getfacl %s: %v: %s", p, err, out)
		}
		return strings.Contains(string(out), "\ngroup:"+gid+":r")
	}

	// zeekctl: logs/current links to spool/zeek
	live, archived := file("opt/zeek/spool/zeek/conn.log"), file("opt/zeek/logs/2024-11-02/conn.00:00:00-01:00:00.log.gz")
	secret := file("opt/zeek/etc/secret")
	if err := os.Symlink(filepath.Join("..", "spool", "zeek"), filepath.Join(root, "opt/zeek/logs/current")); err != nil {
		t.Fatal(err)
	}
	// standalone
	own, other := file("var/log/zeek/conn.log"), file("var/log/auth.log")

	installShell(t, fn, `grant_logs "$1" "$2"; grant_logs "$3" "$2"`,
		filepath.Join(root, "opt/zeek/logs/current"), gid, filepath.Join(root, "var/log/zeek"))
	for p, want := range map[string]bool{live: true, archived: true, own: true, secret: false, other: false} {
		if got := granted(p); got != want {
			t.Errorf("%s: group read by ACL %v, want %v", strings.TrimPrefix(p, root), got, want)
		}
	}
	// and what Zeek writes later
	later := filepath.Join(root, "opt/zeek/spool/zeek/dns.log")
	if err := os.WriteFile(later, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if !granted(later) {
		t.Errorf("a log Zeek creates after the install is not readable by the group")
	}
}

// scripts/install's last line names where the service serves /metrics,
// from the config's [metrics] listen: it said 127.0.0.1:9273 whatever the
// config set. Each config is also read as run reads it, so that the
// script and the binary agree on the key.
func TestInstallMetricsURL(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "scripts", "install"))
	if err != nil {
		t.Fatal(err)
	}
	fn := regexp.MustCompile(`(?ms)^metrics_url\(\) \{.*?^\}\n`).Find(b)
	if fn == nil {
		t.Fatal("scripts/install: no metrics_url function")
	}
	// the last line: the address metrics_url gives, none written in
	if i := bytes.LastIndex(b, []byte("\nurl=$(metrics_url \"$conf\")")); i < 0 || bytes.Contains(b[i:], []byte("127.0.0.1")) {
		t.Fatal("scripts/install does not end with metrics_url's address")
	}
	if _, err := exec.LookPath("awk"); err != nil {
		t.Skip("no awk")
	}
	var example bytes.Buffer
	if err := writeExample(&example); err != nil {
		t.Fatal(err)
	}
	setListen := func(v string) string {
		return strings.Replace(example.String(), `listen = "127.0.0.1:9273"`, `listen = `+v, 1)
	}
	if setListen(`"x"`) == example.String() {
		t.Fatal("config example: no listen = \"127.0.0.1:9273\"")
	}
	for _, c := range []struct {
		name, text, listen, want string
	}{
		{"example", example.String(), "127.0.0.1:9273", "http://127.0.0.1:9273/metrics\n"},
		{"example, another port", setListen(`"10.0.0.5:9100"`), "10.0.0.5:9100", "http://10.0.0.5:9100/metrics\n"},
		{"example, disabled", setListen(`""`), "", ""},
		{"example, all interfaces", setListen(`":9100"`), ":9100", "http://127.0.0.1:9100/metrics\n"},
		{"example, single quotes", setListen(`'0.0.0.0:9200' # all`), "0.0.0.0:9200", "http://127.0.0.1:9200/metrics\n"},
		{"IPv6 wildcard", "[metrics]\nlisten = \"[::]:9273\"\n", "[::]:9273", "http://[::1]:9273/metrics\n"},
		{"IPv6", "[metrics]\n  listen = \"[fd00::5]:9273\"\n", "[fd00::5]:9273", "http://[fd00::5]:9273/metrics\n"},
		{"no metrics table", "[log]\nlevel = \"info\"\n", "127.0.0.1:9273", "http://127.0.0.1:9273/metrics\n"},
		{"commented out", "[metrics]\n# listen = \"10.0.0.5:9100\"\n", "127.0.0.1:9273", "http://127.0.0.1:9273/metrics\n"},
		{"dotted", "metrics.listen = \"10.0.0.6:9100\"\n[log]\nlevel = \"info\"\n", "10.0.0.6:9100", "http://10.0.0.6:9100/metrics\n"},
		{"inline", "metrics = { listen = \"10.0.0.7:9100\" }\n", "10.0.0.7:9100", "http://10.0.0.7:9100/metrics\n"},
		{"[output.elasticsearch] names another address", "[metrics]\nlisten = \"10.0.0.8:9100\"\n[output.elasticsearch]\nurl = \"http://10.0.0.9:9200\"\n", "10.0.0.8:9100", "http://10.0.0.8:9100/metrics\n"},
	} {
		p := filepath.Join(t.TempDir(), "zeekanom.toml")
		if err := os.WriteFile(p, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := loadConfig(p)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if cfg.Metrics.Listen != c.listen {
			t.Fatalf("%s: run reads listen %q, the case says %q", c.name, cfg.Metrics.Listen, c.listen)
		}
		if got := installShell(t, string(fn), `metrics_url "$1"`, p); got != c.want {
			t.Errorf("%s: metrics_url = %q, want %q", c.name, got, c.want)
		}
	}
}
