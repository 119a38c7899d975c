package beacon

import (
	"flag"
	"testing"

	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/output/notice"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestGoldenRealSlices(t *testing.T) {
	var all []*notice.Notice
	for _, p := range []string{"nashua/NASHUA_conn.log.gz", "trickbot/conn.log.gz"} {
		all = append(all, replay(t, "../../testdata/detectors/"+p)...)
	}
	if err := window.Golden(all, "../../testdata/detectors/golden/beacon.jsonl", *update); err != nil {
		t.Fatal(err)
	}
}
