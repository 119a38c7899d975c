package iforest

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors/features"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
)

func gauss(r *rand.Rand, n, d int, mu float64) [][]float64 {
	X := make([][]float64, n)
	for i := range X {
		X[i] = make([]float64, d)
		for j := range X[i] {
			X[i][j] = mu + r.NormFloat64()
		}
	}
	return X
}

func TestAnomaliesScoreHigher(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	X := gauss(r, 1000, 5, 0)
	f, err := Fit(X, Params{Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	inl := gauss(r, 50, 5, 0)
	out := gauss(r, 50, 5, 6)
	var si, so float64
	for i := range inl {
		si += f.Score(inl[i])
		so += f.Score(out[i])
	}
	si, so = si/50, so/50
	if !(so > si+0.15) || so < 0.6 || si > 0.5 {
		t.Fatalf("inliers %.3f, outliers %.3f", si, so)
	}
	// every outlier above the 99th percentile of training, almost
	hi := 0
	for _, x := range out {
		if f.Score(x) > f.Q99 {
			hi++
		}
	}
	if hi < 48 {
		t.Fatalf("only %d/50 outliers above q99 %.3f", hi, f.Q99)
	}
}

func TestDeterministic(t *testing.T) {
	X := gauss(rand.New(rand.NewPCG(5, 5)), 300, 4, 0)
	a, _ := Fit(X, Params{Seed: 7, Trees: 20})
	b, _ := Fit(X, Params{Seed: 7, Trees: 20})
	c, _ := Fit(X, Params{Seed: 8, Trees: 20})
	x := []float64{1, 2, 3, 4}
	if a.Score(x) != b.Score(x) {
		t.Fatal("same seed, different scores")
	}
	if a.Score(x) == c.Score(x) {
		t.Fatal("different seeds, identical scores (suspicious)")
	}
}

func TestFitErrors(t *testing.T) {
	if _, err := Fit([][]float64{{1}}, Params{}); err == nil {
		t.Fatal("want error for 1 vector")
	}
	f, err := Fit([][]float64{{1, 1}, {1, 1}, {1, 1}}, Params{})
	if err != nil || f.Score([]float64{1, 1}) <= 0 {
		t.Fatal("constant data must still fit")
	}
}

// The detector trains on its run when no model is given and flags a host
// whose window is far from the others.
func TestDetectorSelfTrained(t *testing.T) {
	cfg := DefaultConfig()
	cfg.TrainWindows = 1 << 20 // force the Flush fallback
	d := New(cfg, nil)
	r := rand.New(rand.NewPCG(9, 9))
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	conn := func(ts time.Time, src, dst string, port uint16, state string, ob uint64) {
		d.Observe(&zeekreader.Event{Kind: zeekreader.KindConn, TS: ts, Conn: &zeekreader.Conn{TS: ts, UID: []byte("Cx"),
			Orig: netip.MustParseAddr(src), Resp: netip.MustParseAddr(dst), RespP: port, Proto: []byte("tcp"),
			ConnState: []byte(state), OrigBytes: ob, RespBytes: ob * 3, Duration: time.Second}})
	}
	for h := 0; h < 40; h++ {
		src := netip.AddrFrom4([4]byte{10, 0, 0, byte(h + 1)}).String()
		for w := 0; w < 4; w++ {
			for i := 0; i < 5+r.IntN(5); i++ {
				conn(t0.Add(time.Duration(w)*5*time.Minute+time.Duration(i)*time.Second), src, "93.184.216.34", 443, "SF", 500+uint64(r.IntN(500)))
			}
		}
	}
	for i := 0; i < 500; i++ { // scanner
		conn(t0.Add(time.Duration(i)*100*time.Millisecond), "10.0.0.200", netip.AddrFrom4([4]byte{10, 1, byte(i / 250), byte(i % 250)}).String(), uint16(i%7+20), "S0", 0)
	}
	var ns []*notice.Notice
	d.Flush(func(n *notice.Notice) { ns = append(ns, n) })
	if len(ns) == 0 {
		t.Fatal("no outlier notice")
	}
	found := false
	for _, n := range ns {
		if n.Source.String() == "10.0.0.200" {
			found = true
			if n.Rule != notice.RuleOutlier || len(n.Explain.Top) == 0 || n.RiskScore < 50 {
				t.Fatalf("bad notice %+v", n)
			}
		} else {
			t.Errorf("benign host flagged: %s", n.Message)
		}
		if testing.Verbose() {
			t.Log(n.Message)
		}
	}
	if !found {
		t.Fatal("scanner not flagged")
	}
	if d.Stats().Trained == 0 {
		t.Fatal("not trained")
	}
	_ = features.Names
}

// Trained on inliers only, a point far outside the training range is
// isolated at the root by the range check: classic isolation forests cap
// such points near the score of the training extremes.
func TestRangeCheck(t *testing.T) {
	X := gauss(rand.New(rand.NewPCG(2, 2)), 500, 4, 0)
	far := []float64{40, 40, 40, 40}
	edge := []float64{2.5, 0, 0, 0}
	rc, _ := Fit(X, Params{Seed: 3})
	classic, _ := Fit(X, Params{Seed: 3, Margin: -1})
	if rc.Score(far) < 0.85 {
		t.Fatalf("range check: far point scores %.3f", rc.Score(far))
	}
	if classic.Score(far) > rc.Score(far)-0.1 {
		t.Fatalf("classic %.3f vs range check %.3f", classic.Score(far), rc.Score(far))
	}
	if rc.Score(X[0]) != classic.Score(X[0]) && math.Abs(rc.Score(X[0])-classic.Score(X[0])) > 0.1 {
		t.Fatalf("inlier moved too much: %.3f vs %.3f", rc.Score(X[0]), classic.Score(X[0]))
	}
	if rc.Score(edge) > rc.Score(far) {
		t.Fatal("edge point above far point")
	}
}

// ScoreBatch gives exactly Score's values (same sums in the same order).
func TestScoreBatchEqualsScore(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	X := make([][]float64, 2*scoreBlock+300) // three blocks
	for i := range X {
		X[i] = []float64{rng.NormFloat64(), rng.ExpFloat64(), float64(rng.IntN(5)), rng.Float64() * 100}
	}
	f, err := grow(X[:500], Params{Trees: 50, Sample: 128, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	got := make([]float64, len(X))
	f.ScoreBatch(X, got)
	for i, x := range X {
		if want := f.Score(x); got[i] != want {
			t.Fatalf("point %d: batch %v, Score %v", i, got[i], want)
		}
	}
}

// ScoreBatchAbove scores a point exactly (bit for bit ScoreBatch's) when
// its score is at least least, and below least otherwise, for forests
// with and without the range check, thresholds across the range, and
// points inside and far outside the training data.
func TestScoreBatchAboveDecidesAsScoreBatch(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	train := make([][]float64, 600)
	for i := range train {
		train[i] = make([]float64, 6)
		for k := range train[i] {
			train[i][k] = r.NormFloat64()
		}
	}
	pts := make([][]float64, 3000)
	for i := range pts {
		pts[i] = make([]float64, 6)
		for k := range pts[i] {
			pts[i][k] = r.NormFloat64() * (1 + 4*float64(i%7/6)) // one in seven far out
		}
	}
	for _, margin := range []float64{0.5, -1} {
		f, err := Fit(train, Params{Trees: 100, Sample: 256, Seed: 3, Margin: margin})
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float64, len(pts))
		f.ScoreBatch(pts, want)
		rest := f.MinPaths()
		for _, least := range []float64{0.3, 0.5, 0.6, 0.7, 0.83, 0.95} {
			got := make([]float64, len(pts))
			f.ScoreBatchAbove(pts, got, least, rest)
			above := 0
			for i := range pts {
				if want[i] >= least {
					above++
					if got[i] != want[i] {
						t.Fatalf("margin %g, least %g: point %d scores %v, want %v", margin, least, i, got[i], want[i])
					}
				} else if got[i] >= least {
					t.Fatalf("margin %g, least %g: point %d (score %v) given %v", margin, least, i, want[i], got[i])
				}
			}
			if (least == 0.83 && margin >= 0 || least == 0.6 && margin < 0) && (above == 0 || above == len(pts)) {
				t.Fatalf("margin %g: %d of %d points above %g: the test proves nothing", margin, above, len(pts), least)
			}
		}
	}
}

// A forest read from a file may reuse a node as the child of several
// splits (Check refuses links back and out of range, not sharing, and
// PathLength walks one path): MinPaths must not walk every path through
// such a tree, 2^63 of them for 64 splits that both lead to the next, and
// its bounds are still the least path lengths.
func TestMinPathsOfSharedNodes(t *testing.T) {
	const n = 64
	nodes := make([]Node, n)
	for i := range n - 1 {
		nodes[i] = Node{Feature: 0, Left: int32(i + 1), Right: int32(i + 1), Lo: -1, Hi: 1}
	}
	nodes[n-1] = Node{Feature: -1, Size: 1}
	for _, c := range []struct {
		margin, want float64
	}{{0.5, 1}, {-1, n - 1}} {
		f := &Forest{Trees: []Tree{{Nodes: nodes}, {Nodes: nodes}}, Sample: 256, Dim: 1, Margin: c.margin}
		if err := f.Check(1); err != nil {
			t.Fatalf("refused (%v): the test proves nothing", err)
		}
		done := make(chan []float64, 1)
		go func() { done <- f.MinPaths() }()
		select {
		case rest := <-done:
			if rest[0] != 2*c.want || rest[1] != c.want || rest[2] != 0 {
				t.Errorf("margin %g: bounds %v, want %v", c.margin, rest, []float64{2 * c.want, c.want, 0})
			}
			if p := f.Trees[0].PathLength([]float64{0}, c.margin); p < rest[1] {
				t.Errorf("margin %g: a path of %g under the bound %g", c.margin, p, rest[1])
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("margin %g: MinPaths still walking after 10 s", c.margin)
		}
	}
}
