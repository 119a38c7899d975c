package supervised

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors/features"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
)

func data(n int) ([][]float64, []bool) {
	r := rand.New(rand.NewPCG(1, 1))
	var X [][]float64
	var y []bool
	for i := 0; i < n; i++ {
		v := make([]float64, features.N)
		v[0] = float64(5 + r.IntN(10))
		v[3] = r.Float64() * 0.2
		mal := i%10 == 0
		if mal {
			v[0] = float64(200 + r.IntN(100))
			v[3] = 0.9 + r.Float64()*0.1
		}
		X = append(X, v)
		y = append(y, mal)
	}
	return X, y
}

func TestFitSeparates(t *testing.T) {
	X, y := data(300)
	m, err := Fit(X, y, Params{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range X {
		p := m.Prob(X[i])
		if y[i] && p < 0.9 || !y[i] && p > 0.1 {
			t.Fatalf("row %d (mal=%v): p=%.3f", i, y[i], p)
		}
	}
	if _, err := Fit(X[:5], []bool{false, false, false, false, false}, Params{}); err == nil {
		t.Fatal("one class must fail")
	}
}

func TestDetector(t *testing.T) {
	X, y := data(300)
	m, _ := Fit(X, y, Params{})
	d := New(DefaultConfig(), m, nil)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 250; i++ {
		ts := t0.Add(time.Duration(i) * time.Second)
		d.Observe(&zeekreader.Event{Kind: zeekreader.KindConn, TS: ts, Conn: &zeekreader.Conn{TS: ts, UID: []byte("C1"),
			Orig: netip.MustParseAddr("10.0.0.1"), Resp: netip.AddrFrom4([4]byte{10, 1, 0, byte(i)}), RespP: 445, ConnState: []byte("S0")}})
	}
	var ns []*notice.Notice
	d.Flush(func(n *notice.Notice) { ns = append(ns, n) })
	if len(ns) != 1 || ns[0].Rule != notice.RuleSupervised || ns[0].RiskScore < 50 || len(ns[0].Explain.Top) == 0 {
		t.Fatalf("notices: %+v", ns)
	}
}
