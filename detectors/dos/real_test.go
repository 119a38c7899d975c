package dos

import (
	"os"
	"testing"

	"github.com/zeekanom/zeekanom/detectors/window"
)

func TestRealDump(t *testing.T) {
	p := os.Getenv("ZA_FILE")
	if p == "" {
		t.Skip()
	}
	ns, err := window.Replay([]string{p}, New(DefaultConfig()))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		t.Logf("%s %s risk=%.1f %s", n.Rule, n.Source, n.RiskScore, n.Message)
	}
}
