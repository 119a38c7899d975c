package features

import (
	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/zeekreader"
)

// Needs are the columns a host-window's byte features stand on: a conn
// log without them gives windows whose counts are not logged
// (Vector.Unlogged). The Needs (detectors.Needer) of iforest, supervised
// and train's extractor.
func Needs() []detectors.Need {
	return []detectors.Need{
		{Kind: zeekreader.KindConn, Columns: []string{"orig_bytes"}, Judges: "bytes_out and out_in_ratio"},
		{Kind: zeekreader.KindConn, Columns: []string{"resp_bytes"}, Judges: "bytes_in and out_in_ratio"},
	}
}
