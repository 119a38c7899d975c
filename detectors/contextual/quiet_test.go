package contextual

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors/window"
)

// quietRows is four weeks of a network: office hosts on weekdays (some
// days away), night servers, hosts that appear in week 3 (judged by
// priors), unanswered attempts (S0), and bursts at random hours, each row
// with a uid; late rows come up to 4 minutes out of order.
func quietRows(seed uint64) []window.Conn {
	r := rand.New(rand.NewPCG(seed, 7))
	var rows []window.Conn
	add := func(host string, at time.Time, n int, state string) {
		for i := range n {
			rows = append(rows, window.Conn{TS: at.Add(time.Duration(r.IntN(3600)) * time.Second), Src: host,
				Dst: fmt.Sprintf("93.184.%d.%d", r.IntN(4), r.IntN(200)), DPort: 443, OrigBytes: uint64(100 + r.IntN(5000)),
				State: state, UID: fmt.Sprintf("C%d%s%d", seed, host, len(rows)+i)})
		}
	}
	for d := range 28 {
		day := monday.AddDate(0, 0, d)
		weekend := day.Weekday() == time.Saturday || day.Weekday() == time.Sunday
		for h := range 24 {
			at := day.Add(time.Duration(h) * time.Hour)
			for k := range 6 {
				host := fmt.Sprintf("10.0.1.%d", k+1)
				if d >= 14 && k >= 4 {
					host = fmt.Sprintf("10.0.3.%d", k+1) // new in week 3
				}
				if !weekend && h >= 9 && h < 17 && r.IntN(10) > 0 && (k < 4 || d >= 14) {
					add(host, at, 5+r.IntN(30), "SF")
				}
			}
			for k := range 2 {
				if h < 6 && r.IntN(5) > 0 {
					add(fmt.Sprintf("10.0.2.%d", k+1), at, 3+r.IntN(25), "SF")
				}
			}
			if r.IntN(40) == 0 {
				add(fmt.Sprintf("10.0.%d.%d", 1+r.IntN(3), 1+r.IntN(8)), at, 10+r.IntN(60), []string{"SF", "S0"}[r.IntN(2)])
			}
		}
	}
	return window.Shuffle(rows, 4*time.Minute, int64(seed))
}

// Quiet hours (cannotFire: no slot, no destinations or uids) change
// nothing a run gives: the same notices, uids included, and the same
// profiles, with evictions, other thresholds, and through a restart; and
// they are most of a run's hours.
func TestQuietHoursChangeNothing(t *testing.T) {
	small := DefaultConfig()
	small.MaxHosts = 6
	short := DefaultConfig()
	short.MinDays, short.MinConns, short.MaxProb = 2, 5, 0.3
	for seed := range uint64(4) {
		for name, cfg := range map[string]Config{"default": DefaultConfig(), "max_hosts 6": small, "min_days 2": short} {
			rows := quietRows(seed)
			ref := New(cfg)
			ref.noQuiet = true
			want := window.Run(ref, rows)
			q := New(cfg)
			got := window.Run(q, rows)
			if !same(want, got) || !same(ref.Profiles(), q.Profiles()) {
				t.Fatalf("seed %d, %s: quiet hours changed the run:\n%s\n%s", seed, name, js(want), js(got))
			}
			// (under eviction, hosts come back without their history)
			if q.quietHours < q.slotsTaken && name != "max_hosts 6" || q.quietHours == 0 {
				t.Errorf("seed %d, %s: %d quiet hours, %d with a slot", seed, name, q.quietHours, q.slotsTaken)
			}
			t.Logf("seed %d, %s: %d notices, %d quiet hours, %d with a slot", seed, name, len(want), q.quietHours, q.slotsTaken)
			restarted, err := window.RunSnapshot(New(cfg), New(cfg), rows, len(rows)/2)
			if err != nil || !same(want, restarted) {
				t.Fatalf("seed %d, %s: through a restart: %v\n%s\n%s", seed, name, err, js(want), js(restarted))
			}
			if seed == 0 && name == "default" && len(want) == 0 {
				t.Fatal("no notice: the test proves little")
			}
		}
	}
}

func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func same(a, b any) bool { return js(a) == js(b) }
