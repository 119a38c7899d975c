package iforest

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/zeekanom/zeekanom/detectors/features"
	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/output/notice"
)

// dnsVec is vec with q dns queries of mean length qlen.
func dnsVec(host string, w int, q, qlen float64) features.Vector {
	v := vec(host, w, 6, 1200, 20)
	v.Values[9], v.Values[11], v.Values[13] = q, q/4, qlen
	return v
}

// populationRun trains a detector on the run's first 40 windows, which
// have no dns rows (as rita-test-data's http-only first hour), then scores
// hours of windows in which every host queries dns, and finally a host
// querying far more than the others (and connecting to many more hosts,
// what the forest of the baseline period can see).
func populationRun(t *testing.T, cut int, restore func(*Detector) *Detector) []*notice.Notice {
	t.Helper()
	cfg := DefaultConfig()
	cfg.TrainWindows = 40
	d := New(cfg, nil)
	var ns []*notice.Notice
	emit := func(n *notice.Notice) { ns = append(ns, n) }
	w, batch := 0, 0
	step := func(vs []features.Vector) {
		if batch == cut && restore != nil {
			d = restore(d)
		}
		batch++
		d.handle(vs, emit)
	}
	for ; w < 4; w++ {
		var vs []features.Vector
		for h := 0; h < 10; h++ {
			vs = append(vs, vec(fmt.Sprintf("10.0.0.%d", h+1), w, float64(6+h%3), 1200+float64(h)*10, 20))
		}
		step(vs)
	}
	if d.tr == nil {
		t.Fatal("never trained")
	}
	for ; w < 40; w++ {
		var vs []features.Vector
		for h := 0; h < 10; h++ {
			vs = append(vs, dnsVec(fmt.Sprintf("10.0.0.%d", h+1), w, float64(20+h%5), 18+float64(h%3)))
		}
		step(vs)
	}
	out := dnsVec("10.0.0.99", w, 4000, 60)
	out.Values[0], out.Values[1], out.Values[4] = 400, 300, 5e6 // the forest knows no dns
	step([]features.Vector{out})
	d.Flush(emit)
	return ns
}

// The population baseline of a forest trained on the run follows the
// scored windows: dns features learnt after the baseline period are
// explained against the hosts' typical dns use, not against the 0 of a
// baseline period without dns (the forest, and so the risks and ids, are
// those of the baseline period).
func TestPopulationFollowsScoredWindows(t *testing.T) {
	ns := populationRun(t, -1, nil)
	if len(ns) == 0 {
		t.Fatal("no notices")
	}
	last := ns[len(ns)-1]
	if last.Source.String() != "10.0.0.99" {
		t.Fatalf("outlier not flagged; last notice %s", last.Message)
	}
	if last.Explain.BaselineScope != features.ScopePopulation || !strings.Contains(last.Message, "vs population baseline") {
		t.Fatalf("scope %q: %s", last.Explain.BaselineScope, last.Message)
	}
	q, ok := last.Explain.Features["dns_queries"]
	if !ok || q.Baseline == nil || *q.Baseline < 20 || *q.Baseline > 24 {
		t.Fatalf("dns_queries not explained against the hosts' 20-24: %s", last.Message)
	}
	if ql, ok := last.Explain.Features["mean_query_len"]; ok && (ql.Baseline == nil || *ql.Baseline < 18) {
		t.Fatalf("mean_query_len baseline %v: %s", ql.Baseline, last.Message)
	}
}

// The sample is carried by snapshots (same notices with a restore in the
// middle); a version-2 snapshot, with its fixed baseline and no sample,
// restores and keeps that baseline until the sample has minPopulation
// windows.
func TestPopulationSnapshot(t *testing.T) {
	want := populationRun(t, -1, nil)
	roundTrip := func(d *Detector) *Detector {
		b, err := d.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		c := New(d.cfg, nil)
		if err := c.Restore(b); err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, cut := range []int{2, 5, 30} {
		got := populationRun(t, cut, roundTrip)
		if len(got) != len(want) {
			t.Fatalf("cut %d: %d notices, want %d", cut, len(got), len(want))
		}
		for i := range got {
			if got[i].ID != want[i].ID || got[i].Message != want[i].Message {
				t.Fatalf("cut %d: notice %d\n got %s\nwant %s", cut, i, got[i].Message, want[i].Message)
			}
		}
	}

	var legacy features.Robust
	v2 := func(d *Detector) *Detector {
		b, _ := d.Snapshot()
		var m map[string]any
		json.Unmarshal(b, &m)
		legacy = d.pop.robust()
		g, _ := json.Marshal(legacy)
		m["version"], m["global"] = 2, json.RawMessage(g)
		delete(m, "population")
		b, _ = json.Marshal(m)
		c := New(d.cfg, nil)
		if err := c.Restore(b); err != nil {
			t.Fatal(err)
		}
		if got := c.pop.robust(); !reflect.DeepEqual(got.Median, legacy.Median) || got.Scope != features.ScopePopulation {
			t.Fatalf("version 2: baseline %+v, want the snapshot's", got)
		}
		return c
	}
	got := populationRun(t, 30, v2)
	if last := got[len(got)-1]; last.Message != want[len(want)-1].Message {
		t.Fatalf("after a version-2 restore and %d windows: %s, want %s", 10*10, last.Message, want[len(want)-1].Message)
	}
}

// Once full, adding a window allocates nothing, and a window of many
// hosts (closed in address order) leaves a sample spread over all of them.
func TestPopulationBounded(t *testing.T) {
	var p Population
	v := make([]float64, features.N)
	var hosts []window.IP
	for i := 0; i < 4*PopulationLen; i++ {
		h := window.IPOf(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}))
		hosts = append(hosts, h)
		v[0] = float64(i)
		p.add(h, vec("10.0.0.1", 0, 1, 1, 5).Start, v)
	}
	if len(p.Vals) != PopulationLen || cap(p.Vals) != PopulationLen {
		t.Fatalf("%d windows held, capacity %d", len(p.Vals), cap(p.Vals))
	}
	early := 0
	for _, r := range p.Vals {
		if r[0] < 2*PopulationLen {
			early++
		}
	}
	if early < PopulationLen/20 {
		t.Fatalf("only %d of %d from the first half of the window's hosts", early, PopulationLen)
	}
	start := vec("10.0.0.1", 1, 1, 1, 5).Start
	if a := testing.AllocsPerRun(100, func() { p.add(hosts[7], start, v) }); a != 0 {
		t.Fatalf("%v allocations per window", a)
	}
}
