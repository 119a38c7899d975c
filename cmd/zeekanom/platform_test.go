package main

import (
	"strings"
	"testing"
)

// run refuses to start on Windows, with what to use instead: the batch
// commands build there (scripts/test cross-builds every package), the
// live follower cannot lock its state directory nor tell a log by its
// inode. Until 2026-12-02 nothing built for Windows.
func TestLivePlatform(t *testing.T) {
	for _, c := range []struct {
		goos string
		ok   bool
	}{
		{"linux", true}, {"darwin", true}, {"freebsd", true}, {"windows", false},
	} {
		err := livePlatform(c.goos)
		if (err == nil) != c.ok {
			t.Errorf("%s: %v, want allowed %v", c.goos, err, c.ok)
		}
		if err != nil && (!strings.Contains(err.Error(), "does not run on Windows") || !strings.Contains(err.Error(), "zeekanom score")) {
			t.Errorf("%s: %q does not say why nor what to use", c.goos, err)
		}
	}
}
