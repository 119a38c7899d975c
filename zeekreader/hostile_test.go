package zeekreader_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/zeekanom/zeekanom/zeekreader"
)

// Rows a hostile or broken writer can put in a log: each is bounded (a
// row error, counted) and the rows after it are read as usual.

// TestJSONNestingIsBounded: a line of {"":{"":{... nested about 200,000
// deep (the most a 1 MiB line holds) grew the reader's stack to 512 MiB
// (830 MB resident), one call a level. Nesting past maxJSONDepth (32) is
// a row error; Zeek's records nest a few levels, and 32 still reads.
func TestJSONNestingIsBounded(t *testing.T) {
	deep := func(n int) string {
		return `{"ts":1,` + strings.Repeat(`"a":{`, n) + `"b":1` + strings.Repeat("}", n) + "}\n"
	}
	in := deep(150000) + deep(32) + `{"ts":2,"id":{"orig_h":"10.0.0.1"}}` + "\n"
	rows, errs, fatal := readAll(t, in, "ts", "id.orig_h", strings.TrimSuffix(strings.Repeat("a.", 32), ".")+".b")
	if fatal != nil {
		t.Fatal(fatal)
	}
	if len(errs) != 1 || !errors.Is(errs[0], zeekreader.ErrBadJSON) || !strings.Contains(errs[0].Error(), "nested more than 32 deep") {
		t.Fatalf("errors = %v, want one: nested more than 32 deep", errs)
	}
	if len(rows) != 2 || rows[0]["a."+strings.Repeat("a.", 31)+"b"] != "1" || rows[1]["id.orig_h"] != "10.0.0.1" {
		t.Errorf("rows = %v", rows)
	}
}
