package elasticsearch

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// The bounds of one request, from sending it (with the transport's
// retries of it) to the last byte of its answer. The transport bounds only
// the connection (5 s) and an answer's headers (60 s): an answer whose body
// stalled after them held the caller for ever (a bulk worker and score's
// Write behind it; New, and so score and run at start, for the template).
const (
	// bulkTimeout: twice the header timeout, which leaves a bulk request
	// answered at its last moment a minute for its body (up to
	// flush_bytes of notices in, a few hundred bytes an item out).
	bulkTimeout = 2 * time.Minute
	// adminTimeout bounds the small requests about the index template
	// (GET and PUT _index_template, the write index's PUT _mapping, GET
	// _resolve/index): bodies of a few KB, whose time is the cluster's
	// work, not the transfer. A PUT waits for the master at most its
	// master_timeout (30 s by default, then 503, which the transport
	// retries): a minute covers that wait in full once. A cluster that
	// does not answer within it is treated as unreachable (score and run
	// start anyway and install the template before the first notice).
	adminTimeout = time.Minute
)

// sendsKey is the context key of an *atomic.Int32 in which statusRecorder
// counts the times a request was sent (within sets it): a second sending
// is a retry.
type sendsKey struct{}

// within does one request and the reading of its answer (do, given its
// context) bounded by limit, so that an answer that stalls fails the
// request. An error due to the bound says what was being done (what: "bulk
// request") and the bound; an error of ctx (the caller stopping, or its
// own deadline) is returned as it is.
func within(ctx context.Context, limit time.Duration, what string, do func(context.Context) error) error {
	rctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	err := do(context.WithValue(rctx, sendsKey{}, new(atomic.Int32)))
	if err != nil && rctx.Err() != nil && ctx.Err() == nil {
		err = fmt.Errorf("%s not answered in full within %s: %w", what, limit, err)
	}
	return err
}
