package follow

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
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
// field added to State and not to writeState would be dropped silently
// (Dropped is not saved, by Marshal or writeState).
func TestWriteStateIsMarshal(t *testing.T) {
	full := &State{Version: 1, SavedAt: time.Date(2026, 11, 30, 17, 0, 0, 123456789, time.UTC),
		Files: []Position{{Log: "conn", File: "/logs/<conn>&.log", ID: Identity{Dev: 1, Ino: 2, FPLen: 3, FP: "ab"}, Offset: 42}},
		Detectors: map[string][]byte{"scan": []byte("snap\x00\xff"), "beacon": bytes.Repeat([]byte{7}, 50),
			"a<b>&c\u2028": {}, "nil": nil},
		Engine: json.RawMessage(" {\"wm\": [1, 2],\n \"h\":\"<&>\"} "), Failed: []string{"gone"},
		Dropped: []string{"not saved"}}
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
		if err := writeState(w, s, encodingsOf(s.Detectors), nil); err != nil {
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
		err := writeState(w, full, encodingsOf(full.Detectors), nil)
		if err == nil {
			err = w.Flush()
		}
		if err == nil {
			t.Fatalf("failure after %d bytes not reported", n)
		}
	}
}

// SaveEncoding streams each snapshot into the file; one whose encoding
// fails after writing part of it is named in Failed and dropped by
// LoadState, the others and the offsets stand. A failing file fails the
// save.
func TestSaveEncodingFailure(t *testing.T) {
	dir := t.TempDir()
	good := bytes.Repeat([]byte("gob\x00\xff"), 100000) // more than the write buffer
	encs := func() []Encoding {
		return []Encoding{
			{"beacon", func(w io.Writer) error { _, err := w.Write(good); return err }},
			{"dos", func(w io.Writer) error {
				w.Write(good[:1000])
				return errors.New("gob: type not registered")
			}},
			{"scan", func(w io.Writer) error {
				for i := 0; i < len(good); i += 4096 { // in pieces, as chunked gob messages
					if _, err := w.Write(good[i:min(i+4096, len(good))]); err != nil {
						return err
					}
				}
				return nil
			}},
			{"idle", nil},
		}
	}
	var failed []string
	st := &State{Files: []Position{{Log: "conn", Offset: 7}}}
	if err := SaveEncoding(dir, st, encs(), func(name string, err error) { failed = append(failed, name+": "+err.Error()) }); err != nil {
		t.Fatal(err)
	}
	if want := []string{"dos: gob: type not registered"}; !reflect.DeepEqual(failed, want) {
		t.Fatalf("failed %q, want %q", failed, want)
	}
	got, err := LoadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Detectors["beacon"], good) || !bytes.Equal(got.Detectors["scan"], good) {
		t.Fatal("snapshots around the failed one changed")
	}
	if _, ok := got.Detectors["dos"]; ok {
		t.Fatal("the failed snapshot was loaded")
	}
	if v, ok := got.Detectors["idle"]; !ok || v != nil {
		t.Fatalf("idle: %v %v, want null", v, ok)
	}
	if len(got.Files) != 1 || got.Files[0].Offset != 7 || !reflect.DeepEqual(got.Dropped, []string{"dos"}) || got.Failed != nil {
		t.Fatalf("files %+v dropped %q failed %q", got.Files, got.Dropped, got.Failed)
	}
	// loaded and saved again with a good snapshot under that name (the
	// failure was the last save's), it is kept
	got.Detectors["dos"] = good
	if err := SaveState(dir, got); err != nil {
		t.Fatal(err)
	}
	if again, err := LoadState(dir); err != nil || !bytes.Equal(again.Detectors["dos"], good) || again.Dropped != nil {
		t.Fatalf("saved again: %v, dropped %q", err, again.Dropped)
	}

	// a full disk under an encoding is the save's error, not the detector's
	for n := 0; n < 3000; n += 211 {
		w := bufio.NewWriterSize(&failAfter{n}, 16)
		failed = nil
		err := writeState(w, st, encs(), func(name string, err error) { failed = append(failed, name) })
		if err == nil {
			err = w.Flush()
		}
		if err == nil || !strings.Contains(err.Error(), "no space left") {
			t.Fatalf("failure after %d bytes: %v", n, err)
		}
		if len(failed) > 0 { // (the file fails inside beacon, the first)
			t.Fatalf("failure after %d bytes blamed on %q", n, failed)
		}
	}
}

// readState decodes a checkpoint a snapshot at a time into what
// json.Unmarshal gives, and refuses what it refuses.
func TestReadStateIsUnmarshal(t *testing.T) {
	for _, in := range readStateSeeds() {
		checkReadState(t, in)
	}
}

func readStateSeeds() []string {
	return []string{
		`{"version":1,"saved_at":"2026-11-30T17:00:00Z","files":[{"log":"conn","file":"x","id":{"dev":1,"ino":2,"fp_len":3,"fp":"ab"},"offset":42}],"detectors":{"a":"c25hcA==","b":null},"engine":{"conn":"2026-11-30T17:00:00Z"},"failed":["b"]}`,
		`{}`, `{"detectors":null}`, `{"detectors":{}}`, `{"Detectors":{"a":"AA=="},"VERSION":2}`,
		`{"detectors":{"a":"AA=="},"detectors":{"b":"AQ=="}}`, `{"detectors":{"a":"AA=="},"detectors":null}`,
		`{"version":"x"}`, `{"detectors":{"a":"not base64!"}}`, `{"detectors":{"a":1}}`, `{"detectors":[]}`,
		`{"files":[]} {}`, `{"files":[]}  `, `[]`, `null`, ``, `{"detectors":{"a":"AA=="`, `{"engine":{"x":1},"x":[1,{"y":2}]}`,
		`{"detectors":{"a":"AA==","a":"AQ=="}}`, `{"failed":["a"],"detectors":{"a":"AA=="}}`,
	}
}

func checkReadState(t *testing.T, in string) {
	var want State
	wantErr := json.Unmarshal([]byte(in), &want)
	got, err := readState(strings.NewReader(in))
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%q: error %v, Unmarshal's %v", in, err, wantErr)
	}
	if err == nil && !reflect.DeepEqual(*got, want) {
		t.Fatalf("%q:\n%+v\nUnmarshal:\n%+v", in, *got, want)
	}
}

func FuzzReadState(f *testing.F) {
	for _, s := range readStateSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) { checkReadState(t, in) })
}
