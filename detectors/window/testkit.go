package window

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
)

// This file holds helpers for the detectors' tests: synthetic conn rows,
// runs through an Engine, snapshot/restore mid-stream and shuffling within
// lateness.

// Conn is a synthetic conn row.
type Conn struct {
	TS        time.Time
	Src, Dst  string
	SPort     uint16
	DPort     uint16
	Proto     string
	State     string
	History   string // Zeek's history, "" for none
	OrigBytes uint64
	RespBytes uint64
	// NoRespBytes: the row gives no resp_bytes (zeekreader.Conn's
	// HasRespBytes off)
	NoRespBytes bool
	Duration    time.Duration
	OrigPkts    uint64
	RespPkts    uint64
	// NoRespPkts: the row gives no resp_pkts (zeekreader.Conn's
	// HasRespPkts off)
	NoRespPkts bool
	UID        string
	LocalOrig  zeekreader.Tri
	Open       bool
	ServerName string // when set, the row is an ssl row
}

// Event turns c into an event (a fresh one each call).
func (c Conn) Event() *zeekreader.Event {
	if c.Proto == "" {
		c.Proto = "tcp"
	}
	if c.State == "" {
		c.State = "SF"
	}
	if c.UID == "" {
		c.UID = fmt.Sprintf("C%x", uint32(Mix64(uint64(c.TS.UnixNano())^HashAddr(netip.MustParseAddr(c.Src), uint64(c.DPort)))))
	}
	if c.ServerName != "" {
		s := &zeekreader.SSL{TS: c.TS, UID: []byte(c.UID), Orig: netip.MustParseAddr(c.Src), Resp: netip.MustParseAddr(c.Dst),
			OrigP: c.SPort, RespP: c.DPort, ServerName: []byte(c.ServerName), Established: zeekreader.True}
		return &zeekreader.Event{Kind: zeekreader.KindSSL, TS: c.TS, SSL: s}
	}
	v := &zeekreader.Conn{TS: c.TS, UID: []byte(c.UID), Orig: netip.MustParseAddr(c.Src), Resp: netip.MustParseAddr(c.Dst),
		OrigP: c.SPort, RespP: c.DPort, Proto: []byte(c.Proto), ConnState: []byte(c.State), History: []byte(c.History),
		OrigBytes: c.OrigBytes, HasOrigBytes: true, RespBytes: c.RespBytes, HasRespBytes: !c.NoRespBytes, Duration: c.Duration, HasDuration: c.Duration > 0,
		OrigPkts: c.OrigPkts, HasOrigPkts: true, RespPkts: c.RespPkts, HasRespPkts: !c.NoRespPkts, LocalOrig: c.LocalOrig}
	return &zeekreader.Event{Kind: zeekreader.KindConn, TS: c.TS, Conn: v, Open: c.Open}
}

// Run feeds rows to a fresh Engine around det and returns the notices.
func Run(det detectors.Detector, rows []Conn) []*notice.Notice {
	var out []*notice.Notice
	eng := detectors.NewEngine(func(n *notice.Notice) { out = append(out, n) }, det)
	for _, r := range rows {
		eng.Observe(r.Event())
	}
	eng.Flush()
	return out
}

// RunSnapshot feeds rows[:cut] to det, snapshots it, restores the
// snapshot into fresh (a new detector of the same config) and feeds it the
// rest in a new Engine that restores the first one's watermarks, as
// `zeekanom run` does from its checkpoint.
func RunSnapshot(det, fresh detectors.Detector, rows []Conn, cut int) ([]*notice.Notice, error) {
	var out []*notice.Notice
	emit := func(n *notice.Notice) { out = append(out, n) }
	eng := detectors.NewEngine(emit, det)
	for _, r := range rows[:cut] {
		eng.Observe(r.Event())
	}
	eng2, err := Restart(det, fresh, eng, emit)
	if err != nil {
		return nil, err
	}
	for _, r := range rows[cut:] {
		eng2.Observe(r.Event())
	}
	eng2.Flush()
	return out, nil
}

// Restart stops det and its Engine eng as `zeekanom run` does and starts
// again from their checkpoint: fresh (a new detector of the same config)
// restores det's snapshot, and the Engine returned, around fresh and
// emitting to emit, eng's watermarks.
func Restart(det, fresh detectors.Detector, eng *detectors.Engine, emit detectors.Emit) (*detectors.Engine, error) {
	st, ok := det.(detectors.Stateful)
	if !ok {
		return nil, fmt.Errorf("%s is not stateful", det.Name())
	}
	b, err := st.Snapshot()
	if err != nil {
		return nil, err
	}
	if err := fresh.(detectors.Stateful).Restore(b); err != nil {
		return nil, err
	}
	wm, err := eng.Snapshot()
	if err != nil {
		return nil, err
	}
	eng2 := detectors.NewEngine(emit, fresh)
	if err := eng2.Restore(wm); err != nil {
		return nil, err
	}
	return eng2, nil
}

// RestoreRoundTrip feeds rows[:cut] to det, snapshots it, restores the
// snapshot into fresh and snapshots fresh. It returns both snapshots
// decoded by decode, which must be equal: a field Restore forgets shows
// up as a difference. A field Snapshot does not carry is missing from both
// and does not: RunSnapshot against an uninterrupted run finds that.
func RestoreRoundTrip(det, fresh detectors.Detector, rows []Conn, cut int, decode func([]byte) (any, error)) (before, after any, err error) {
	eng := detectors.NewEngine(func(*notice.Notice) {}, det)
	for _, r := range rows[:cut] {
		eng.Observe(r.Event())
	}
	b, err := det.(detectors.Stateful).Snapshot()
	if err != nil {
		return nil, nil, err
	}
	if err := fresh.(detectors.Stateful).Restore(b); err != nil {
		return nil, nil, err
	}
	b2, err := fresh.(detectors.Stateful).Snapshot()
	if err != nil {
		return nil, nil, err
	}
	if before, err = decode(b); err != nil {
		return nil, nil, err
	}
	after, err = decode(b2)
	return before, after, err
}

// Shuffle reorders rows randomly but keeps every row within lateness of
// its sorted position in time (a bounded out-of-order stream).
func Shuffle(rows []Conn, lateness time.Duration, seed int64) []Conn {
	out := append([]Conn(nil), rows...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].TS.Before(out[j].TS) })
	r := rand.New(rand.NewSource(seed))
	// key = ts + random jitter in [0, lateness/2): a row is overtaken only
	// by rows at most lateness/2 newer.
	type kv struct {
		k time.Time
		c Conn
	}
	ks := make([]kv, len(out))
	for i, c := range out {
		ks[i] = kv{c.TS.Add(time.Duration(r.Int63n(int64(lateness/2) + 1))), c}
	}
	sort.SliceStable(ks, func(i, j int) bool { return ks[i].k.Before(ks[j].k) })
	for i := range ks {
		out[i] = ks[i].c
	}
	return out
}

// Canon renders notices as sorted JSON lines (order-independent compare).
func Canon(ns []*notice.Notice) []string {
	out := make([]string, 0, len(ns))
	for _, n := range ns {
		b, _ := json.Marshal(n)
		out = append(out, string(b))
	}
	sort.Strings(out)
	return out
}

// Golden compares notices (as Canon lines) with a golden file; with
// update set it rewrites the file instead.
func Golden(ns []*notice.Notice, path string, update bool) error {
	got := strings.Join(Canon(ns), "\n") + "\n"
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		return os.WriteFile(path, []byte(got), 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if string(want) != got {
		return fmt.Errorf("%s differs (run the test with -update to accept):\ngot:\n%s", path, got)
	}
	return nil
}

// CheckEvicting feeds the benchmark events to det with its max_hosts
// small enough that keys are evicted while their windows are open,
// restores a snapshot of it into fresh (same config) halfway, feeds fresh
// the rest and flushes it twice. It fails t unless keys were evicted, the
// second Flush gave nothing and inUse (fresh's slab's Len) is 0 at the end:
// every slab id freed exactly once, by eviction, close or restore.
func CheckEvicting(t testing.TB, det, fresh detectors.Detector, inUse func() int) {
	t.Helper()
	evs := BenchEvents(40000)
	for _, ev := range evs[:len(evs)/2] {
		det.Observe(ev)
	}
	b, err := det.(detectors.Stateful).Snapshot()
	if err == nil {
		err = fresh.(detectors.Stateful).Restore(b)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs[len(evs)/2:] {
		fresh.Observe(ev)
	}
	fresh.Flush(func(*notice.Notice) {})
	second := 0
	fresh.Flush(func(*notice.Notice) { second++ })
	st := statsOf(fresh)
	if st.Evicted == 0 || second != 0 || inUse() != 0 {
		t.Fatalf("%+v, %d notices from a second Flush, %d slab values in use", st, second, inUse())
	}
}

// statsOf is d's Stats: what its Stats() returns, or the Stats that
// embeds (beacon's adds the rows it dropped).
func statsOf(d detectors.Detector) Stats {
	v := reflect.ValueOf(d).MethodByName("Stats").Call(nil)[0]
	if s, ok := v.Interface().(Stats); ok {
		return s
	}
	return v.FieldByName("Stats").Interface().(Stats)
}

// CheckRestoreExact runs the benchmark events through mk() twice: once
// without a stop, and once stopped halfway (the detector's and the
// Engine's snapshots restored into a new detector and Engine, as `zeekanom
// run` does). With a max_hosts small enough to evict, the two must end in
// the same state (decoded by decode) and with the same notices: a restored
// table evicts what the saved one would have (Layout).
func CheckRestoreExact(t testing.TB, mk func() detectors.Detector, decode func([]byte) (any, error)) {
	t.Helper()
	evs := BenchEvents(40000)
	var na, nb []*notice.Notice
	a := mk()
	ea := detectors.NewEngine(func(n *notice.Notice) { na = append(na, n) }, a)
	for _, ev := range evs {
		ea.Observe(ev)
	}
	b := mk()
	eb := detectors.NewEngine(func(n *notice.Notice) { nb = append(nb, n) }, b)
	for _, ev := range evs[:len(evs)/2] {
		eb.Observe(ev)
	}
	ds, err := b.(detectors.Stateful).Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	ws, err := eb.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	c := mk()
	ec := detectors.NewEngine(func(n *notice.Notice) { nb = append(nb, n) }, c)
	if err := c.(detectors.Stateful).Restore(ds); err != nil {
		t.Fatal(err)
	}
	if err := ec.Restore(ws); err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs[len(evs)/2:] {
		ec.Observe(ev)
	}
	sa, err := a.(detectors.Stateful).Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sc, err := c.(detectors.Stateful).Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	va, err := decode(sa)
	if err != nil {
		t.Fatal(err)
	}
	vc, err := decode(sc)
	if err != nil {
		t.Fatal(err)
	}
	if st := statsOf(a); st.Evicted == 0 {
		t.Fatalf("nothing evicted (%+v): max_hosts too large for the test", st)
	}
	if !reflect.DeepEqual(va, vc) {
		t.Fatal("the restored run ends in another state than the run that never stopped")
	}
	ea.Flush()
	ec.Flush()
	if ca, cb := Canon(na), Canon(nb); !reflect.DeepEqual(ca, cb) {
		t.Fatalf("notices differ:\n%v\n%v", ca, cb)
	}
}

// CheckCapture takes a Snapshot and a Capture at 20 points of the
// benchmark events through mk(); each Capture's encoding, run after the
// detector has taken all the events, must decode (by decode) to what its
// Snapshot did: Capture copies, it does not alias the live state.
func CheckCapture(t testing.TB, mk func() detectors.Detector, decode func([]byte) (any, error)) {
	t.Helper()
	evs := BenchEvents(40000)
	d := mk()
	c, ok := d.(detectors.Capturer)
	if !ok {
		t.Fatalf("%s is not a Capturer", d.Name())
	}
	eng := detectors.NewEngine(func(*notice.Notice) {}, d)
	var wants [][]byte
	var encodes []func(io.Writer) error
	for i, ev := range evs {
		if i%(len(evs)/20) == 0 {
			b, err := c.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			wants, encodes = append(wants, b), append(encodes, c.Capture())
		}
		eng.Observe(ev)
	}
	eng.Flush()
	for i := range wants {
		got, err := detectors.Encoded(encodes[i])
		if err != nil {
			t.Fatal(err)
		}
		vw, err := decode(wants[i])
		if err != nil {
			t.Fatal(err)
		}
		vg, err := decode(got)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(vw, vg) {
			t.Fatalf("capture %d of %d: encoded after more rows, it differs from the Snapshot at its moment", i+1, len(wants))
		}
	}
}

// CaptureAt feeds rows[:cut] to det (a Capturer) in an Engine, takes a
// Snapshot and a Capture there, feeds the rest and then runs the
// Capture's encoding: want and got must decode alike.
func CaptureAt(t testing.TB, det detectors.Detector, rows []Conn, cut int) (want, got []byte) {
	t.Helper()
	c := det.(detectors.Capturer)
	eng := detectors.NewEngine(func(*notice.Notice) {}, det)
	for _, r := range rows[:cut] {
		eng.Observe(r.Event())
	}
	want, err := c.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	encode := c.Capture()
	for _, r := range rows[cut:] {
		eng.Observe(r.Event())
	}
	if got, err = detectors.Encoded(encode); err != nil {
		t.Fatal(err)
	}
	return want, got
}

// Started runs rows through two new detectors from mk: one as it is and
// one started with start first (a model's profiles); it returns the
// notices of each, and the started detector.
func Started[D detectors.Detector](t testing.TB, mk func() D, start func(D) error, rows []Conn) (plain, started []*notice.Notice, d D) {
	t.Helper()
	plain = Run(mk(), rows)
	d = mk()
	if err := start(d); err != nil {
		t.Fatal(err)
	}
	return plain, Run(d, rows), d
}

// ThroughJSON is v written as JSON and read back into a T (what a model
// file does to what it carries).
func ThroughJSON[T any](t testing.TB, v any) T {
	t.Helper()
	var out T
	b, err := json.Marshal(v)
	if err == nil {
		err = json.Unmarshal(b, &out)
	}
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// DecodeGob decodes a gob snapshot into a T, chunks included (a decode
// for CheckRestoreExact and RestoreRoundTrip).
func DecodeGob[T any](b []byte) (any, error) {
	var v T
	err := DecodeGobInto(b, &v)
	return v, err
}

// Decoded runs a Capture's encoding now and decodes it into a T, chunks
// included; t fails on an error.
func Decoded[T any](t testing.TB, encode func(io.Writer) error) T {
	t.Helper()
	var v T
	b, err := detectors.Encoded(encode)
	if err == nil {
		err = DecodeGobInto(b, &v)
	}
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Captured is a Capture taken before row At, to be encoded later.
type Captured struct {
	At     int
	Encode func(io.Writer) error
}

// RunRestarting feeds rows to a detector from mk in an Engine emitting to
// emit, restarted halfway as `zeekanom run` does (Restart into another
// from mk, whose Capture must then decode, as a T, to the first one's),
// and flushes it. Before each row it calls row with the row's index and
// whether a Capture was taken there (twelve are, returned to be encoded
// after all the rows): a test follows the rows in a reference, saved at
// each Capture.
func RunRestarting[T any, D interface {
	detectors.Detector
	detectors.Capturer
}](t testing.TB, mk func() D, rows []Conn, emit detectors.Emit, row func(i int, captured bool)) []Captured {
	t.Helper()
	d := mk()
	eng := detectors.NewEngine(emit, d)
	var caps []Captured
	for i, c := range rows {
		if i == len(rows)/2 {
			before := Decoded[T](t, d.Capture())
			fresh := mk()
			var err error
			if eng, err = Restart(d, fresh, eng, emit); err != nil {
				t.Fatal(err)
			}
			d = fresh
			if after := Decoded[T](t, d.Capture()); !reflect.DeepEqual(before, after) {
				t.Fatal("restored, the snapshot differs")
			}
		}
		captured := i%max(len(rows)/12, 1) == 0
		if captured {
			caps = append(caps, Captured{i, d.Capture()})
		}
		row(i, captured)
		eng.Observe(c.Event())
	}
	eng.Flush()
	return caps
}

// Churn is a busy sensor's background from start, rate rows/s for dur:
// hosts internal hosts to servers drawn from a Zipf law over 20,000 (as
// zeekgen draws them), common ports, exponential sizes, one row in twenty
// unanswered (S0). Most of its keys are one-off, and at a few rows per
// second they fill small tables many times over within minutes.
func Churn(start time.Time, seed int64, hosts int, rate float64, dur time.Duration) []Conn {
	r := rand.New(rand.NewSource(seed))
	var rows []Conn
	ports := []uint16{443, 80, 53, 123, 22, 445, 8080}
	for t := 0.0; t < dur.Seconds(); t += r.ExpFloat64() / rate {
		h := r.Intn(hosts)
		d := min(int(math.Exp(r.Float64()*math.Log(20001)))-1, 19999)
		c := Conn{TS: start.Add(time.Duration(t * 1e9)), Src: fmt.Sprintf("10.%d.%d.%d", 1+h>>16&0xff, h>>8&0xff, h&0xff),
			Dst: fmt.Sprintf("%d.%d.%d.%d", 23+d%180, (d*7)&0xff, (d>>8)&0xff, 1+d%254), SPort: uint16(1024 + r.Intn(60000)),
			DPort: ports[r.Intn(len(ports))], State: "SF", OrigBytes: uint64(r.ExpFloat64() * 800),
			RespBytes: uint64(r.ExpFloat64() * 20000), Duration: time.Duration(r.ExpFloat64() * 2e9)}
		if r.Intn(20) == 0 {
			c.State, c.OrigBytes, c.RespBytes, c.Duration = "S0", 0, 0, 0
		}
		rows = append(rows, c)
	}
	return rows
}

// CheckRestoreUnchunked feeds half the benchmark events to mk() and
// checks its gob snapshot (T, whose Chunks field counts the messages of
// each table, see GobChunksLater): written as before chunking, every
// entry in the head's one message, it restores to the same state as the
// chunked one; cut short anywhere in its chunks, it does not restore.
func CheckRestoreUnchunked[T any](t testing.TB, mk func() detectors.Detector) {
	t.Helper()
	evs := BenchEvents(40000)
	a := mk()
	ea := detectors.NewEngine(func(*notice.Notice) {}, a)
	for _, ev := range evs[:len(evs)/2] {
		ea.Observe(ev)
	}
	chunked, err := a.(detectors.Stateful).Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var v T
	if err := DecodeGobInto(chunked, &v); err != nil {
		t.Fatal(err)
	}
	want := v
	chunks := reflect.ValueOf(&v).Elem().FieldByName("Chunks")
	if slices.Max(chunks.Interface().([]int)) < 2 {
		t.Fatalf("chunks %v: the events make no table of several chunks", chunks.Interface())
	}
	chunks.Set(reflect.Zero(chunks.Type()))
	var old bytes.Buffer
	if err := gob.NewEncoder(&old).Encode(v); err != nil {
		t.Fatal(err)
	}
	b := mk()
	if err := b.(detectors.Stateful).Restore(old.Bytes()); err != nil {
		t.Fatalf("unchunked snapshot: %v", err)
	}
	again, err := b.(detectors.Stateful).Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var got T
	if err := DecodeGobInto(again, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatal("an unchunked snapshot restores to another state than the chunked one")
	}
	for _, cut := range []int{len(chunked) - 1, len(chunked) * 2 / 3, len(chunked) / 3} {
		if err := mk().(detectors.Stateful).Restore(chunked[:cut]); err == nil {
			t.Fatalf("a snapshot cut at byte %d of %d restores", cut, len(chunked))
		}
	}
}

// ZeekUID is a random uid as Zeek writes them, drawn from r: 'C' and up to
// 17 base-62 characters (at most UIDKeep bytes).
func ZeekUID(r *rand.Rand) string {
	const b62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	uid := []byte{'C'}
	for range r.Intn(UIDKeep) {
		uid = append(uid, b62[r.Intn(len(b62))])
	}
	return string(uid)
}

// CheckRefusesNewer restores a gob snapshot whose head is newer (a
// snapshot of the detector's own type with a version past its build's)
// and checks that det refuses it, saying so, and is left unchanged (it
// then starts empty, as run does with a snapshot that does not restore).
func CheckRefusesNewer(t testing.TB, det interface {
	detectors.Stateful
	Name() string
}, newer any) {
	t.Helper()
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(newer); err != nil {
		t.Fatal(err)
	}
	err := det.Restore(b.Bytes())
	if err == nil || !strings.Contains(err.Error(), "from a newer zeekanom") {
		t.Errorf("%s restored a newer snapshot: %v", det.Name(), err)
	}
}

// WriteConnLog writes rows as dir/conn.log of the given fields (Zeek's
// names: ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto duration
// orig_bytes resp_bytes conn_state history orig_pkts orig_ip_bytes
// resp_pkts resp_ip_bytes), a TSV log with its header or JSON lines. A
// row's NoRespBytes (NoRespPkts) writes its resp_bytes (resp_pkts and
// resp_ip_bytes) unset: "-", or left out of its JSON object, as Zeek's
// writers do. It returns dir.
func WriteConnLog(t testing.TB, dir string, fields []string, asJSON bool, rows []Conn) string {
	t.Helper()
	types := map[string]string{"ts": "time", "uid": "string", "id.orig_h": "addr", "id.orig_p": "port", "id.resp_h": "addr",
		"id.resp_p": "port", "proto": "enum", "duration": "interval", "orig_bytes": "count", "resp_bytes": "count",
		"conn_state": "string", "history": "string", "orig_pkts": "count", "orig_ip_bytes": "count", "resp_pkts": "count",
		"resp_ip_bytes": "count"}
	var b strings.Builder
	if !asJSON {
		var ts []string
		for _, n := range fields {
			if types[n] == "" {
				t.Fatalf("WriteConnLog: no field %q", n)
			}
			ts = append(ts, types[n])
		}
		fmt.Fprintf(&b, "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#fields\t%s\n#types\t%s\n",
			strings.Join(fields, "\t"), strings.Join(ts, "\t"))
	}
	for i, r := range rows {
		proto := r.Proto
		if proto == "" {
			proto = "tcp"
		}
		v := map[string]any{"ts": float64(r.TS.UnixMicro()) / 1e6, "uid": fmt.Sprintf("C%017d", i), "id.orig_h": r.Src,
			"id.orig_p": r.SPort, "id.resp_h": r.Dst, "id.resp_p": r.DPort, "proto": proto, "duration": r.Duration.Seconds(),
			"orig_bytes": r.OrigBytes, "resp_bytes": r.RespBytes, "conn_state": r.State, "history": r.History,
			"orig_pkts": r.OrigPkts, "orig_ip_bytes": r.OrigPkts * 28, "resp_pkts": r.RespPkts, "resp_ip_bytes": r.RespPkts * 28}
		if r.NoRespBytes {
			delete(v, "resp_bytes")
		}
		if r.NoRespPkts {
			delete(v, "resp_pkts")
			delete(v, "resp_ip_bytes")
		}
		if asJSON {
			o := map[string]any{}
			for _, n := range fields {
				if x, ok := v[n]; ok {
					o[n] = x
				}
			}
			j, err := json.Marshal(o)
			if err != nil {
				t.Fatal(err)
			}
			b.Write(append(j, '\n'))
			continue
		}
		for k, n := range fields {
			if k > 0 {
				b.WriteByte('\t')
			}
			switch x, ok := v[n]; {
			case !ok:
				b.WriteByte('-')
			case n == "ts":
				fmt.Fprintf(&b, "%d.%06d", r.TS.Unix(), r.TS.Nanosecond()/1000)
			default:
				fmt.Fprint(&b, x)
			}
		}
		b.WriteByte('\n')
	}
	if err := os.WriteFile(filepath.Join(dir, "conn.log"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// connCols are ConnLog's columns and their Zeek types.
var connCols = []struct{ name, typ string }{
	{"ts", "time"}, {"uid", "string"}, {"id.orig_h", "addr"}, {"id.orig_p", "port"}, {"id.resp_h", "addr"},
	{"id.resp_p", "port"}, {"proto", "enum"}, {"duration", "interval"}, {"orig_bytes", "count"}, {"resp_bytes", "count"},
	{"conn_state", "string"}, {"history", "string"}, {"orig_pkts", "count"}, {"resp_pkts", "count"},
}

// ConnLog writes rows as Zeek writes a conn log, TSV with its header
// (asJSON false) or JSON lines, for a test to read back through
// zeekreader (ReadLog). The columns named in omit are left out, as a
// trimmed Zeek config leaves them (in JSON, the keys). What a row does
// not give (Event's Has flags off: NoRespBytes, NoRespPkts, a duration
// or history of zero) is unset: "-" in TSV, no key in JSON.
func ConnLog(rows []Conn, asJSON bool, omit ...string) string {
	var b strings.Builder
	var cols []string
	for _, c := range connCols {
		if !slices.Contains(omit, c.name) {
			cols = append(cols, c.name)
		}
	}
	if !asJSON {
		b.WriteString("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#fields")
		for _, c := range cols {
			b.WriteString("\t" + c)
		}
		b.WriteString("\n#types")
		for _, c := range connCols {
			if slices.Contains(cols, c.name) {
				b.WriteString("\t" + c.typ)
			}
		}
		b.WriteString("\n")
	}
	for _, r := range rows {
		c := r.Event().Conn
		val := func(col string) (v string, quoted, set bool) {
			switch col {
			case "ts":
				return fmt.Sprintf("%d.%06d", c.TS.Unix(), c.TS.Nanosecond()/1000), false, true
			case "uid":
				return string(c.UID), true, true
			case "id.orig_h":
				return c.Orig.String(), true, true
			case "id.orig_p":
				return fmt.Sprint(c.OrigP), false, true
			case "id.resp_h":
				return c.Resp.String(), true, true
			case "id.resp_p":
				return fmt.Sprint(c.RespP), false, true
			case "proto":
				return string(c.Proto), true, true
			case "duration":
				return fmt.Sprintf("%.6f", c.Duration.Seconds()), false, c.HasDuration
			case "orig_bytes":
				return fmt.Sprint(c.OrigBytes), false, c.HasOrigBytes
			case "resp_bytes":
				return fmt.Sprint(c.RespBytes), false, c.HasRespBytes
			case "conn_state":
				return string(c.ConnState), true, true
			case "history":
				return string(c.History), true, len(c.History) > 0
			case "orig_pkts":
				return fmt.Sprint(c.OrigPkts), false, c.HasOrigPkts
			}
			return fmt.Sprint(c.RespPkts), false, c.HasRespPkts
		}
		if asJSON {
			b.WriteString("{")
			first := true
			for _, col := range cols {
				v, quoted, set := val(col)
				if !set {
					continue
				}
				if !first {
					b.WriteString(",")
				}
				first = false
				if quoted {
					v = fmt.Sprintf("%q", v)
				}
				fmt.Fprintf(&b, "%q:%s", col, v)
			}
			b.WriteString("}\n")
			continue
		}
		for i, col := range cols {
			v, _, set := val(col)
			if !set {
				v = "-"
			}
			if i > 0 {
				b.WriteString("\t")
			}
			b.WriteString(v)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// ReadLog decodes a log's text (ConnLog) as the commands read a file,
// giving f each event (reused: f must not keep it).
func ReadLog(t testing.TB, log string, f func(*zeekreader.Event)) {
	t.Helper()
	r := zeekreader.NewEventReader(zeekreader.NewReader(strings.NewReader(log), "conn.log"))
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		f(ev)
	}
}
