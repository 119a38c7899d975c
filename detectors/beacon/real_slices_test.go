package beacon

import (
	"testing"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/output/notice"
)

func replay(t *testing.T, path string) []*notice.Notice {
	t.Helper()
	ns, err := window.Replay([]string{path}, New(DefaultConfig()))
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

func TestRealNashuaC2(t *testing.T) {
	ns := replay(t, "../../testdata/detectors/nashua/NASHUA_conn.log.gz")
	found := false
	for _, n := range ns {
		t.Log(n.Message, n.RiskScore)
		if n.Source.String() == "10.0.1.6" && n.Destination.String() == "192.168.0.4" && n.DestPort == 8443 {
			found = true
		}
		if n.Destination.IsValid() && n.Destination.String() != "192.168.0.4" {
			t.Errorf("unexpected: %s", n.Message)
		}
	}
	if !found {
		t.Fatal("C2 10.0.1.6 -> 192.168.0.4:8443 not flagged")
	}
}

func TestRealTrickbotC2(t *testing.T) {
	ns := replay(t, "../../testdata/detectors/trickbot/conn.log.gz")
	got := map[string]int{}
	for _, n := range ns {
		t.Log(n.Message, n.RiskScore)
		if n.DestPort == 53 || n.DestPort == 123 {
			t.Errorf("DNS/NTP flagged: %s", n.Message)
		}
		got[n.Source.String()+">"+n.Destination.String()]++
	}
	for _, pair := range []string{"172.16.9.5>72.189.124.41", "172.16.9.5>206.130.141.255", "172.16.9.233>24.119.69.70"} {
		if got[pair] == 0 {
			t.Errorf("%s not flagged", pair)
		}
	}
}

func TestRealBenign(t *testing.T) {
	for _, p := range []string{"evanswj", "simir", "zat"} {
		for _, n := range replay(t, "../../testdata/detectors/benign/"+p+"/conn.log.gz") {
			t.Errorf("%s: %s", p, n.Message)
		}
	}
}

func BenchmarkBeacon(b *testing.B) {
	window.Bench(b, func() detectors.Detector { return New(DefaultConfig()) })
}
