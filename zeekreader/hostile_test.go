package zeekreader_test

import (
	"errors"
	"fmt"
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

// TestJSONKeysAreBounded: a JSON stream's schema grows by every new key,
// and rows of 40,000 new keys each took 6.6 GB and 37 s for 213 MB. A key
// past 4096 distinct ones, or longer than 1024 bytes, is a row error (the
// key named by its first 64 bytes); rows of the keys already known read
// on.
func TestJSONKeysAreBounded(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 3; i++ {
		fmt.Fprintf(&b, `{"ts":%d`, i)
		for k := 0; k < 2000; k++ {
			fmt.Fprintf(&b, `,"k%d_%d":1`, i, k)
		}
		b.WriteString("}\n")
	}
	long := strings.Repeat("x", 1025)
	b.WriteString(`{"ts":7,"` + long + `":1}` + "\n")
	b.WriteString(`{"ts":8,"k0_5":2}` + "\n")
	rows, errs, fatal := readAll(t, b.String(), "ts", "k0_5")
	if fatal != nil {
		t.Fatal(fatal)
	}
	if len(errs) != 2 {
		t.Fatalf("errors = %v, want 2", errs)
	}
	if e := errs[0].Error(); !errors.Is(errs[0], zeekreader.ErrBadJSON) || !strings.Contains(e, "test.log:3: field k2_95: malformed JSON: a new key past 4096 distinct keys in the stream") {
		t.Errorf("error = %v", e)
	}
	if e := errs[1].Error(); !strings.Contains(e, "a key of 1025 bytes, more than 1024") || strings.Contains(e, long[:65]) {
		t.Errorf("error = %v", e)
	}
	if len(rows) != 3 || rows[2]["ts"] != "8" || rows[2]["k0_5"] != "2" {
		t.Errorf("rows = %v", rows)
	}
}
