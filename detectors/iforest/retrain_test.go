package iforest

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"reflect"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/features"
	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/output/notice"
)

// diurnal is hosts' traffic for days from startHour: about 60
// connections an hour a host from 08:00 to 18:00, 6 at night, to a few
// favourite servers and the wider Internet.
func diurnal(hosts, days int, startHour int, seed int64) []window.Conn {
	r := rand.New(rand.NewSource(seed))
	start := time.Date(2026, 3, 2, startHour, 0, 0, 0, time.UTC)
	var rows []window.Conn
	ports := []uint16{443, 443, 443, 80, 53, 123}
	for h := 0; h < days*24; h++ {
		hod := (startHour + h) % 24
		lam := 6.0
		if hod >= 8 && hod < 18 {
			lam = 60
		}
		for host := 0; host < hosts; host++ {
			n := int(r.ExpFloat64() * lam)
			for k := 0; k < n; k++ {
				d := int(window.Mix64(uint64(host*31+r.Intn(8))) % 5000)
				if r.Intn(4) == 0 {
					d = r.Intn(20000)
				}
				rows = append(rows, window.Conn{TS: start.Add(time.Duration(h)*time.Hour + time.Duration(r.Int63n(int64(time.Hour)))),
					Src: fmt.Sprintf("10.1.%d.%d", host/250, 1+host%250), Dst: fmt.Sprintf("%d.%d.%d.%d", 23+d%180, (d*7)&0xff, (d>>8)&0xff, 1+d%254),
					SPort: uint16(1024 + r.Intn(60000)), DPort: ports[r.Intn(len(ports))], State: "SF", OrigBytes: uint64(r.ExpFloat64() * 800),
					RespBytes: uint64(r.ExpFloat64() * 20000), Duration: time.Duration(r.ExpFloat64() * 2e9)})
			}
		}
	}
	return window.Shuffle(rows, time.Nanosecond, 1)
}

// A sidecar started at 02:00 without a model trains its first forest on
// night windows. Without retraining it flags working-day windows every
// day, for as long as it runs; retrained 1, 2, 4, 8, 16 and 32 hours in,
// then daily, on a sample of the windows it has judged, it stops within hours.
func TestRetrainFollowsTheDay(t *testing.T) {
	rows := diurnal(200, 4, 2, 1)
	day2 := time.Date(2026, 3, 3, 2, 0, 0, 0, time.UTC)
	var firstDay [2]int
	for i, retrain := range []time.Duration{0, 24 * time.Hour} {
		cfg := DefaultConfig()
		cfg.Retrain = retrain
		d := New(cfg, nil)
		ns := window.Run(d, rows)
		later := 0
		for _, n := range ns {
			if n.Start.Before(day2) {
				firstDay[i]++
			} else {
				later++
			}
		}
		t.Logf("retrain %v: %d notices on the first day, %d later; %d retrains", retrain, firstDay[i], later, d.Stats().Retrains)
		if retrain == 0 && later == 0 || retrain > 0 && (later > 0 || d.Stats().Retrains < 5) {
			t.Errorf("retrain %v: %d notices after the first day, %d retrains", retrain, later, d.Stats().Retrains)
		}
	}
	if firstDay[1]*2 > firstDay[0] {
		t.Errorf("first day: %d notices retrained, %d not", firstDay[1], firstDay[0])
	}
}

// The population and retraining samples are overwritten in place once
// full: a capture holds its own copies.
func TestCaptureSamples(t *testing.T) {
	rows := diurnal(100, 2, 10, 2)
	want, got := window.CaptureAt(t, New(DefaultConfig(), nil), rows, len(rows)/2)
	var w, g snapshot
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if w.Population == nil || len(w.Population.Vals) != PopulationLen || w.Retrain == nil || len(w.Retrain.Sample) == 0 {
		t.Fatalf("samples not filled at the capture: the test proves nothing")
	}
	if !reflect.DeepEqual(w, g) {
		t.Fatal("the capture encoded after more rows differs from the snapshot at its moment")
	}
}

// A damaged snapshot's retraining part (a small window of another length,
// a share outside 0..1, a sample larger than RetrainSample or than the
// windows seen) is refused at Restore, and the detector is left as it
// was: restored, it panicked at the next retraining, hours later, or (a
// full sample of -1 windows seen) at the next window offered, dividing by
// zero, and again after every restart from the same checkpoint. Both
// kinds of snapshot with a retraining part: a forest trained on the run,
// and a model's forest retrained online.
func TestRestoreRefusesDamagedRetraining(t *testing.T) {
	night := nightModel(t)
	for _, kind := range []struct {
		name string
		tr   func() *Trained
		rows []window.Conn
	}{
		{"run", func() *Trained { return nil }, diurnal(50, 2, 2, 3)},
		{"model", night, diurnal(100, 3, 2, 4)},
	} {
		cut := len(kind.rows) / 4
		if kind.tr() != nil {
			cut = len(kind.rows) / 2 // after a retraining
		}
		d := New(DefaultConfig(), kind.tr())
		window.Run(d, kind.rows[:cut])
		b, err := d.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		for i, damage := range []func(re map[string]any){
			func(re map[string]any) { re["small"].([]any)[0] = []float64{1, 2} },
			func(re map[string]any) { re["share"] = 1e-300 },
			func(re map[string]any) { re["share"] = 2.5 },
			func(re map[string]any) { re["seen"] = -1 },
			func(re map[string]any) { re["seen"] = len(re["sample"].([]any)) - 1 },
			func(re map[string]any) {
				re["sample"] = append(re["sample"].([]any), make([]any, RetrainSample)...)
				re["seen"] = 1 << 40
			},
		} {
			var s map[string]any
			if err := json.Unmarshal(b, &s); err != nil {
				t.Fatal(err)
			}
			re, _ := s["retrain"].(map[string]any)
			if re == nil || len(re["small"].([]any)) == 0 || len(re["sample"].([]any)) == 0 {
				t.Fatalf("%s: no retraining sample with small windows: the test proves nothing", kind.name)
			}
			damage(re)
			bad, _ := json.Marshal(s)
			f := New(DefaultConfig(), kind.tr())
			want, forest := f.tr, (*Forest)(nil)
			if want != nil {
				forest = want.Forest
			}
			if err := f.Restore(bad); err == nil || f.tr != want || (want != nil && f.tr.Forest != forest) {
				t.Errorf("%s: damaged retraining %d restored (err %v)", kind.name, i, err)
			}
		}
	}
}

// A model trained on an archive of nights only: without retraining its
// forest flags working-day windows every day; retrained online (a model
// with a seed, model version 5 on), a day after the first windows judged
// and daily after, on the archive's sample joined by the run's windows,
// it stops after the first day. Before, a model's forest was never
// retrained.
func TestModelForestFollowsTheDay(t *testing.T) {
	night := nightModel(t)
	rows := diurnal(200, 4, 2, 1)
	day2 := time.Date(2026, 3, 3, 2, 0, 0, 0, time.UTC)
	var firstDay, later [2]int
	for i, retrain := range []time.Duration{0, 24 * time.Hour} {
		cfg := DefaultConfig()
		cfg.Retrain = retrain
		d := New(cfg, night())
		for _, n := range window.Run(d, rows) {
			if n.Start.Before(day2) {
				firstDay[i]++
			} else {
				later[i]++
			}
		}
		t.Logf("retrain %v: %d notices on the first day, %d later; %d retrains", retrain, firstDay[i], later[i], d.Stats().Retrains)
		if retrain > 0 && d.Stats().Retrains < 3 {
			t.Errorf("retrain %v: %d retrains in 4 days", retrain, d.Stats().Retrains)
		}
	}
	if later[0] == 0 || firstDay[0] == 0 {
		t.Fatalf("the night model flags no working day (%d, %d notices): the test proves nothing", firstDay[0], later[0])
	}
	if firstDay[1] != firstDay[0] || later[1]*10 > later[0] {
		t.Errorf("retrained: %d notices the first day and %d later, against %d and %d", firstDay[1], later[1], firstDay[0], later[0])
	}
}

// nightModel is what `zeekanom train` makes of an archive of one night
// (00:00–07:00) of diurnal's hosts (model.Train, which this package cannot
// import): a forest of every window, the population baseline and the
// seed; each call returns a new Trained of the same model, as each build
// of the detectors loads one.
func nightModel(t *testing.T) func() *Trained {
	var archive []window.Conn
	for _, r := range diurnal(200, 1, 0, 7) {
		if r.TS.Hour() < 7 {
			archive = append(archive, r)
		}
	}
	x := features.New(features.DefaultConfig())
	for _, r := range archive {
		x.Observe(r.Event())
	}
	vs := x.Flush()
	X := make([][]float64, len(vs))
	var judged [][]float64
	for i := range vs {
		X[i] = features.Transform(vs[i].Values, nil)
		if vs[i].Rows >= DefaultConfig().MinRows {
			judged = append(judged, vs[i].Values)
		}
	}
	f, err := Fit(X, Params{Trees: 100, Sample: 256, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	global := features.ComputeRobust(judged)
	global.Scope = features.ScopePopulation
	seed := NewSeed(vs, DefaultConfig().MinRows)
	if len(seed.Sample) == 0 || len(seed.Small) == 0 {
		t.Fatal("the night model's seed has no sample")
	}
	return func() *Trained {
		return &Trained{Forest: f, Baseline: func(string) features.Robust { return global }, Seed: seed, ID: "night"}
	}
}

// A model's forest retrained online is in the snapshot with its
// retraining sample: a run restored after the first retraining gives the
// notices of one that never stopped. Restored with another model file,
// the detector keeps that model's forest and seed.
func TestModelForestRetrainedSurvivesRestart(t *testing.T) {
	night := nightModel(t)
	rows := diurnal(100, 3, 2, 4)
	cut := len(rows) * 2 / 3 // after the first retraining, a day in
	whole := New(DefaultConfig(), night())
	want := window.Canon(window.Run(whole, rows))
	first := New(DefaultConfig(), night())
	got, err := window.RunSnapshot(first, New(DefaultConfig(), night()), rows, cut)
	if err != nil {
		t.Fatal(err)
	}
	if whole.Stats().Retrains < 2 || first.Stats().Retrains < 1 {
		t.Fatalf("retrained %d times in the whole run, %d before the cut: the test proves nothing", whole.Stats().Retrains, first.Stats().Retrains)
	}
	if !reflect.DeepEqual(window.Canon(got), want) {
		t.Errorf("restored: %d notices, want %d as without a restart", len(got), len(want))
	}
	b, err := first.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	other := night()
	other.ID = "another model"
	d := New(DefaultConfig(), other)
	if err := d.Restore(b); err != nil {
		t.Fatal(err)
	}
	if d.tr.Forest != other.Forest || d.re.Seen != other.Seed.Seen || len(d.re.Sample) != len(other.Seed.Sample) {
		t.Error("restored with another model: the snapshot's forest or sample replaced the model's")
	}
	if first.tr.Forest == other.Forest {
		t.Error("retrained, the forest is still the model's")
	}
}

// Restores across a change of configuration: a forest trained on the run
// gives way to a model file configured since (the model is what the user
// asked for); restored under another model, the snapshot keeps no forest
// (the new model's is loaded again) and the counts start afresh; and a run
// checkpointed with retrain = 0 and restarted with 24h retrains once
// train_windows windows are judged, as an older snapshot without a
// sample does, not a whole period later.
func TestRestoreAcrossConfigChanges(t *testing.T) {
	night := nightModel(t)
	rows := diurnal(60, 2, 2, 5)
	cut := len(rows) / 4

	run := New(DefaultConfig(), nil)
	window.Run(run, rows[:cut])
	b, err := run.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	withModel := New(DefaultConfig(), night())
	if err := withModel.Restore(b); err != nil {
		t.Fatal(err)
	}
	if withModel.fromRun || withModel.tr.Forest != withModel.modelForest {
		t.Error("a run-trained checkpoint replaced the configured model's forest")
	}
	if run.Stats().Trained == 0 {
		t.Fatal("the run trained no forest: the test proves nothing")
	}
	if st := withModel.Stats(); st.Trained != 0 || st.Retrains != 0 {
		t.Errorf("the model's forest restored with the run's counts: %d trained, %d retrains", st.Trained, st.Retrains)
	}

	m := New(DefaultConfig(), night())
	window.Run(m, diurnal(100, 3, 2, 4)) // retrains a day in
	if m.Stats().Retrains == 0 {
		t.Fatal("the model's forest was not retrained: the test proves nothing")
	}
	b, err = m.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	other := night()
	other.ID = "another model"
	o := New(DefaultConfig(), other)
	if err := o.Restore(b); err != nil {
		t.Fatal(err)
	}
	ob, err := o.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var s snapshot
	if err := json.Unmarshal(ob, &s); err != nil {
		t.Fatal(err)
	}
	if s.Forest != nil || s.Stats.Retrains != 0 || s.Stats.Trained != 0 {
		t.Errorf("restored under another model: forest saved %v, %d retrains, %d trained", s.Forest != nil, s.Stats.Retrains, s.Stats.Trained)
	}

	off := DefaultConfig()
	off.Retrain = 0
	never := New(off, nil)
	window.Run(never, rows[:cut])
	b, err = never.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	on := New(DefaultConfig(), nil)
	if err := on.Restore(b); err != nil {
		t.Fatal(err)
	}
	later := rows[cut:]
	for len(later) > 0 && later[0].TS.Before(rows[cut].TS.Add(12*time.Hour)) {
		later = later[1:]
	}
	window.Run(on, rows[cut:len(rows)-len(later)]) // half a day
	if on.Stats().Retrains == 0 {
		t.Error("restarted with retrain = 24h, not retrained within half a day")
	}
}

// A run checkpointed while it still buffered its first windows to train
// on, restored with a model file configured since, drops the buffer: the
// model's forest is used, and the buffer was saved again at every
// checkpoint, never used.
func TestRestoreUnderModelDropsTrainingBuffer(t *testing.T) {
	night := nightModel(t)
	rows := diurnal(3, 1, 2, 6)
	d := New(DefaultConfig(), nil)
	eng := detectors.NewEngine(func(*notice.Notice) {}, d) // no Flush: it would train
	for _, r := range rows[:len(rows)/3] {
		eng.Observe(r.Event())
	}
	if len(d.buf) == 0 || d.tr != nil {
		t.Fatalf("%d windows buffered, forest %v: the test proves nothing", len(d.buf), d.tr != nil)
	}
	b, err := d.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	m := New(DefaultConfig(), night())
	if err := m.Restore(b); err != nil {
		t.Fatal(err)
	}
	if len(m.buf) != 0 {
		t.Errorf("%d buffered windows kept under a model", len(m.buf))
	}
}
