package follow

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"
)

// failAfter accepts n bytes, then fails like a full disk.
type failAfter struct{ n int }

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		k := f.n
		f.n = 0
		return k, errors.New("no space left on device")
	}
	f.n -= len(p)
	return len(p), nil
}

// writeState writes json.Marshal's bytes, so LoadState and older
// checkpoints are unaffected. The full state sets every field of State: a
// field added to State and not to writeState would be dropped silently.
func TestWriteStateIsMarshal(t *testing.T) {
	full := &State{Version: 1, SavedAt: time.Date(2026, 11, 30, 17, 0, 0, 123456789, time.UTC),
		Files: []Position{{Log: "conn", File: "/logs/<conn>&.log", ID: Identity{Dev: 1, Ino: 2, FPLen: 3, FP: "ab"}, Offset: 42}},
		Detectors: map[string][]byte{"scan": []byte("snap\x00\xff"), "beacon": bytes.Repeat([]byte{7}, 50),
			"a<b>&c\u2028": {}, "nil": nil},
		Engine: json.RawMessage(" {\"wm\": [1, 2],\n \"h\":\"<&>\"} ")}
	v := reflect.ValueOf(*full)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Fatalf("State.%s is not set here: set it, and write it in writeState", v.Type().Field(i).Name)
		}
	}
	for _, s := range []*State{full, {}, {Version: 1, Files: []Position{}, Detectors: map[string][]byte{}, Engine: json.RawMessage{}}} {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		w := bufio.NewWriter(&got)
		if err := writeState(w, s); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("writeState:\n%s\njson.Marshal:\n%s", got.Bytes(), want)
		}
	}
	// a full disk anywhere in the stream is an error at the latest at Flush
	for n := 0; n < 200; n += 7 {
		w := bufio.NewWriterSize(&failAfter{n}, 16)
		err := writeState(w, full)
		if err == nil {
			err = w.Flush()
		}
		if err == nil {
			t.Fatalf("failure after %d bytes not reported", n)
		}
	}
}
