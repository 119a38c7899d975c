package exfil

import (
	"testing"

	"github.com/zeekanom/zeekanom/detectors/window"
)

// A snapshot of a newer zeekanom (a sensor downgraded) is refused, where
// a form this build does not know would be misread.
func TestRestoreRefusesNewerSnapshot(t *testing.T) {
	window.CheckRefusesNewer(t, New(DefaultConfig()), &snap{Version: snapshotVersion + 1})
}
