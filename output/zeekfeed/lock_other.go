//go:build !unix

package zeekfeed

import (
	"errors"
	"fmt"
	"os"
)

// lockFeed fails: the feed is locked with flock(2), which this system
// (Windows) has not, and it is for a Zeek sensor's live `zeekanom run`,
// which is Unix's. A `score` here writes its notices with output.ndjson,
// -o or Elasticsearch.
func lockFeed(path string) (*os.File, error) {
	return nil, fmt.Errorf("output.zeekfeed: %w on this system (it needs flock(2): Linux, macOS, BSD); write notices with output.ndjson, -o FILE or Elasticsearch instead", errors.ErrUnsupported)
}
