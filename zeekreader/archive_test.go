package zeekreader_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zeekanom/zeekanom/zeekreader"
)

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func connLog(ts ...float64) string {
	var b strings.Builder
	b.WriteString(hdr + "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\n#types\ttime\tstring\taddr\tport\taddr\tport\tenum\n")
	for i, t := range ts {
		fmt.Fprintf(&b, "%.6f\tC%d\t10.0.0.1\t%d\t10.0.0.2\t80\ttcp\n", t, int(t), 1000+i)
	}
	return b.String()
}

func dnsLog(ts ...float64) string {
	var b strings.Builder
	b.WriteString(`{"_path":"dns"}` + "\n")
	b.Reset()
	for _, t := range ts {
		fmt.Fprintf(&b, `{"ts":%.6f,"uid":"D%d","id.orig_h":"10.0.0.1","id.orig_p":5353,"id.resp_h":"10.0.0.53","id.resp_p":53,"query":"example.com"}`+"\n", t, int(t))
	}
	return b.String()
}

// The zeekctl layout: hourly gzip files in date folders, one chain per log
// across days, merged in timestamp order; non-log files are noted.
func TestArchiveZeekctlLayout(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "2024-01-01", "conn.23:00:00-00:00:00.log.gz"), gz([]byte(connLog(100, 300))))
	writeFile(t, filepath.Join(dir, "2024-01-02", "conn.00:00:00-01:00:00.log.gz"), gz([]byte(connLog(500, 700))))
	writeFile(t, filepath.Join(dir, "2024-01-01", "dns.23:00:00-00:00:00.log.gz"), gz([]byte(dnsLog(200, 400))))
	writeFile(t, filepath.Join(dir, "2024-01-02", "dns.00:00:00-01:00:00.log"), []byte(dnsLog(600)))
	writeFile(t, filepath.Join(dir, "2024-01-01", "weird.23:00:00-00:00:00.log.gz"), gz([]byte(connLog(1))))
	writeFile(t, filepath.Join(dir, "2024-01-01", "README.txt"), []byte("not a log"))
	a, err := zeekreader.Walk([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Chains) != 2 {
		t.Fatalf("chains = %+v, want conn and dns", a.Chains)
	}
	if len(a.Notes) != 1 || !strings.Contains(a.Notes[0], "README.txt") {
		t.Errorf("notes = %v", a.Notes)
	}
	m := a.Open(false)
	defer m.Close()
	var got []string
	for {
		ev, err := m.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s@%d", ev.Kind, ev.TS.Unix()))
	}
	want := "conn@100 dns@200 conn@300 dns@400 conn@500 dns@600 conn@700"
	if strings.Join(got, " ") != want {
		t.Errorf("merged = %s\nwant     %s", strings.Join(got, " "), want)
	}
	if st := m.Stats(); st.Rows != 7 {
		t.Errorf("stats rows = %d", st.Rows)
	}
}

// A damaged file ends its own stream with a FileError; the others go on.
func TestArchiveDamagedFileIsSkippable(t *testing.T) {
	dir := t.TempDir()
	z := gz([]byte(connLog(100, 200, 300)))
	writeFile(t, filepath.Join(dir, "conn.log.gz"), z[:len(z)-12])
	writeFile(t, filepath.Join(dir, "dns.log"), []byte(dnsLog(150, 250)))
	a, err := zeekreader.Walk([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	m := a.Open(false)
	defer m.Close()
	rows, fileErrs := 0, 0
	for {
		_, err := m.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if !zeekreader.Skippable(err) {
				t.Fatalf("not skippable: %v", err)
			}
			var fe *zeekreader.FileError
			if errors.As(err, &fe) {
				fileErrs++
			}
			continue
		}
		rows++
	}
	if fileErrs != 1 || rows < 2 {
		t.Errorf("rows=%d fileErrs=%d", rows, fileErrs)
	}
}
