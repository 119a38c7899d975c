// Package output holds the one interface every notice sink implements; each
// sink lives in its own sub-package (ndjson, elasticsearch, zeekfeed).
package output

import (
	"context"

	"github.com/zeekanom/zeekanom/output/notice"
)

// Sink accepts notices. Write may buffer; Flush makes everything written so
// far durable at the destination (or in the sink's spool); Close flushes and
// releases resources. A sink is used from one goroutine at a time.
type Sink interface {
	Write(ctx context.Context, n *notice.Notice) error
	Flush(ctx context.Context) error
	Close() error
}

// SelfFlushing is a Sink that hands what it buffers on by itself, at an
// interval of its own (Elasticsearch's flush_interval), so that a caller
// flushing for latency rather than durability can leave it alone.
type SelfFlushing interface {
	Sink
	FlushesItself() bool
}

// Lossy is a Sink that can lose notices it accepted without an error from
// Write or Flush: one that sends them on in the background and, when the
// destination refuses them for good or is gone with nowhere to keep them,
// counts them instead (Elasticsearch). Lost is that count since the sink
// was opened (with any it held from an earlier run, such as a spool's);
// a batch run that lost any did not do its job.
type Lossy interface {
	Sink
	Lost() int64
}

// Multi fans notices out to several sinks; the first error of each call wins
// but every sink still sees every call.
type Multi []Sink

func (m Multi) Write(ctx context.Context, n *notice.Notice) error {
	var first error
	for _, s := range m {
		if err := s.Write(ctx, n); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (m Multi) Flush(ctx context.Context) error {
	var first error
	for _, s := range m {
		if err := s.Flush(ctx); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (m Multi) Close() error {
	var first error
	for _, s := range m {
		if err := s.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
