package elasticsearch

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// rec is one notice in bulk form: its action line and its document, each
// without the newline that ends it in a request or a spool segment.
type rec struct{ meta, doc []byte }

// size is what the record adds to a bulk request body.
func (r rec) size() int { return len(r.meta) + len(r.doc) + 2 }

// outcome is what became of one record sent in a bulk request.
type outcome struct {
	// status is the item's status in the bulk response, or the request's
	// when it failed as a whole (0: no answer, a network error).
	status int
	// whole: the request failed as a whole, for a reason that is not this
	// record's (network error, 429/5xx after the client's retries, 401,
	// 403...): the record is to be sent again later.
	whole bool
	// reason is the error, with its status, for the log and LastError.
	reason string
}

// refusesAll reports whether the outcome says the cluster does not take
// notices now, whatever they hold: the request failed as a whole, or the
// record was refused for want of authentication or a privilege.
func (o outcome) refusesAll() bool {
	return o.whole || o.status == http.StatusUnauthorized || o.status == http.StatusForbidden
}

// refusedForNow reports whether the record was refused on its own with
// 429 or 5xx inside a bulk response that went through (a busy write
// thread pool's es_rejected_execution_exception): the transport retries
// only whole requests, so the sink sends it again itself (retryItems).
func (o outcome) refusedForNow() bool {
	return !o.whole && (o.status == http.StatusTooManyRequests || o.status >= 500)
}

// verdict sorts outcomes into what the sink does with the record.
type verdict int

const (
	indexed   verdict = iota // created
	duplicate                // 409: a document with its id exists already
	retry                    // to be sent again (spool, or the replayer's next attempt; refusedForNow: retryItems first)
	rejected                 // refused for good: counted as failed and logged
)

func (o outcome) verdict() verdict {
	switch {
	case o.refusesAll() || o.status == http.StatusTooManyRequests || o.status >= 500:
		// (401/403 on an item: the credentials lack a privilege on the
		// data stream, not the notice's fault; it is sent again once they
		// have it, as for a whole request refused so)
		return retry
	case o.status == http.StatusConflict:
		return duplicate
	case o.status >= 200 && o.status < 300:
		return indexed
	default:
		return rejected
	}
}

// bulkItem is one entry of a bulk response's items (filter_path keeps these).
type bulkItem struct {
	Status int `json:"status"`
	Error  struct {
		Type   string `json:"type"`
		Reason string `json:"reason"`
		Cause  struct {
			Reason string `json:"reason"`
		} `json:"caused_by"`
	} `json:"error"`
}

func (it bulkItem) outcome() outcome {
	o := outcome{status: it.Status}
	if it.Status >= 300 || it.Error.Type != "" {
		o.reason = fmt.Sprintf("%d %s: %s", it.Status, it.Error.Type, it.Error.Reason)
		if it.Error.Cause.Reason != "" {
			o.reason += " (" + it.Error.Cause.Reason + ")"
		}
	}
	return o
}

var bulkFilter = []string{"errors", "items.*.status", "items.*.error"}

// post sends recs as one _bulk request, bounded by bulkTimeout (within: a
// request that reaches it failed as a whole, status 0 or the answer's).
// Without error it returns one item per record, in order; otherwise status
// is the request's HTTP status (0 without an answer) and err says what went
// wrong.
func (s *Sink) post(ctx context.Context, recs []rec) ([]bulkItem, int, error) {
	body := make([]byte, 0, bodySize(recs))
	for _, r := range recs {
		body = append(append(append(append(body, r.meta...), '\n'), r.doc...), '\n')
	}
	var items []bulkItem
	var status int
	err := within(ctx, cmp.Or(s.requestTimeout, bulkTimeout), "bulk request", func(ctx context.Context) error {
		var err error
		items, status, err = s.exchange(ctx, body, len(recs))
		return err
	})
	return items, status, err
}

// exchange is post's request and the reading of its answer, of n items.
func (s *Sink) exchange(ctx context.Context, body []byte, n int) ([]bulkItem, int, error) {
	res, err := esapi.BulkRequest{Body: bytes.NewReader(body), FilterPath: bulkFilter}.Do(ctx, s.es)
	if err != nil {
		return nil, 0, err
	}
	defer func() {
		// read to the end (a bounded amount) so that the connection is
		// reused: an error page left unread closed it, and a 413 split
		// into many requests opened one a request
		io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
		res.Body.Close()
	}()
	if res.IsError() {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 2048))
		if !isESError(b) {
			return nil, res.StatusCode, fmt.Errorf("%s: %s (%w)", res.Status(), errorText(b), errNotES)
		}
		return nil, res.StatusCode, fmt.Errorf("%s: %s", res.Status(), errorText(b))
	}
	var br struct {
		Items []map[string]bulkItem `json:"items"`
	}
	if err := json.NewDecoder(res.Body).Decode(&br); err != nil {
		return nil, res.StatusCode, fmt.Errorf("decoding the bulk response: %w", err)
	}
	if len(br.Items) != n {
		return nil, res.StatusCode, fmt.Errorf("%d results for %d documents", len(br.Items), n)
	}
	items := make([]bulkItem, n)
	for i, it := range br.Items {
		for _, v := range it { // one key: the action
			items[i] = v
		}
	}
	return items, res.StatusCode, nil
}

// errNotES marks an error response without Elasticsearch's error object:
// a proxy's or another server's, which says nothing about the records.
var errNotES = errors.New("not an answer from Elasticsearch")

// isESError reports whether an error response's body is Elasticsearch's
// error object.
func isESError(b []byte) bool {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	return json.Unmarshal(b, &e) == nil && len(e.Error) > 0
}

// errorText is the gist of an error response: Elasticsearch's error type
// and reason, else the start of the body (a proxy's HTML page).
func errorText(b []byte) string {
	var e struct {
		Error struct {
			Type   string `json:"type"`
			Reason string `json:"reason"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil && e.Error.Type != "" {
		return e.Error.Type + ": " + e.Error.Reason
	}
	return clip(strings.Join(strings.Fields(string(b)), " "), 200)
}

// clip shortens t to at most n bytes and "..." for the log.
func clip(t string, n int) string {
	if len(t) > n {
		return t[:n] + "..."
	}
	return t
}

// bulk sends recs and returns the outcome of each. A request refused as a
// whole with 413 (larger than the cluster's http.max_content_length or a
// proxy's body limit) or 400 (a record it cannot parse, such as a damaged
// spool line) would be refused again for ever: it is sent again in halves,
// down to the single records refused on their own, which are rejected
// while the others go in.
//
// The index template goes first when New could not install it (WithTemplate).
func (s *Sink) bulk(ctx context.Context, recs []rec) []outcome {
	outs := make([]outcome, len(recs))
	if o := s.ensureTemplate(ctx); o != nil {
		fill(outs, *o)
		return outs
	}
	for i := 0; i < len(recs); {
		n := i + s.fits(recs[i:])
		if f := s.sendSplitting(ctx, recs[i:n], outs[i:n]); f != nil {
			fill(outs[n:], *f)
			break
		}
		i = n
	}
	return outs
}

// retryItems sends again, in follow-up bulk requests of only them, the
// records of recs whose outcome in outs is refusedForNow: up to
// max_retries times, with the client's backoff and jitter between them (as
// the transport does for a whole request), each request counted in
// Retries. It updates outs (a follow-up that fails as a whole gives its
// records that outcome) and returns the indexes of the records still
// refusedForNow, after max_retries or when ctx is done.
func (s *Sink) retryItems(ctx context.Context, recs []rec, outs []outcome) []int {
	left := refusedForNow(outs)
	for attempt := 1; len(left) > 0 && attempt <= s.cfg.MaxRetries; attempt++ {
		if !pause(ctx, backoff(attempt, retryBase, retryCap)) {
			break
		}
		s.retries.Add(1)
		again := make([]rec, len(left))
		for j, i := range left {
			again[j] = recs[i]
		}
		for j, o := range s.bulk(ctx, again) {
			outs[left[j]] = o
		}
		left = refusedForNow(outs)
	}
	return left
}

// refusedForNow returns the indexes of the outcomes that are.
func refusedForNow(outs []outcome) []int {
	var idx []int
	for i, o := range outs {
		if o.refusedForNow() {
			idx = append(idx, i)
		}
	}
	return idx
}

// pause waits d, or until ctx is done (false).
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// logGivenUp says (on the 1st, 2nd, 4th, 8th... time) that n notices of a
// batch were still refused on their own with 429 or 5xx after
// max_retries follow-up requests (o is one's outcome), and then what
// becomes of them.
func (s *Sink) logGivenUp(n int, o outcome, then string) {
	k := s.givenUp.Add(1)
	if k&(k-1) != 0 {
		return
	}
	s.logf("elasticsearch: %d notices of a bulk request still refused after %d retries (max_retries; %s): %s (%d batches so far)",
		n, s.cfg.MaxRetries, clip(o.reason, 300), then, k)
}

// fits is how many of recs, from the first, go in one request: all of
// them until a request was refused as too large (413), then as many as
// stay within the size bodySizes finds (at least one). Behind a proxy
// with a body limit under flush_bytes, every batch was refused and halved
// again at each flush, and the log said so again and again.
func (s *Sink) fits(recs []rec) int {
	s.sizeMu.Lock()
	limit := s.sizes.limit(time.Now())
	s.sizeMu.Unlock()
	if limit == 0 {
		return len(recs)
	}
	size := 0
	for i, r := range recs {
		if size += r.size(); size > limit {
			return max(i, 1)
		}
	}
	return len(recs)
}

// bodySizes are the request sizes fits packs by: the smallest refused as
// too large, the largest accepted below it (0: none yet), and when the
// last refusal was.
type bodySizes struct {
	refused, accepted int
	refusedAt         time.Time
}

// sizesKept is how long the sizes are kept after the last refusal: a
// limit raised since (or a 413 with a small body, for a reason of its
// own, that would hold every request to a notice or two) is found again
// by sending batches whole, at the cost of one batch's refusals an hour.
const sizesKept = time.Hour

// limit is the largest request body to send at now (0: any). Between the
// largest accepted and the smallest refused it tries the middle, a
// bisection of the endpoint's limit, until they are within an eighth of
// each other; then it keeps to the accepted size, until sizesKept after
// the last refusal.
func (b *bodySizes) limit(now time.Time) int {
	if b.refused != 0 && now.Sub(b.refusedAt) >= sizesKept {
		*b = bodySizes{}
	}
	switch {
	case b.refused == 0:
		return 0
	case b.accepted == 0:
		return b.refused - 1
	case b.refused-b.accepted <= b.refused/8:
		return b.accepted
	}
	return (b.accepted + b.refused) / 2
}

// note records a request body of size that was refused as too large (at
// now), or accepted.
func (b *bodySizes) note(size int, tooLarge bool, now time.Time) {
	if tooLarge {
		b.refusedAt = now
	}
	switch {
	case tooLarge && (b.refused == 0 || size < b.refused):
		b.refused = size
		if b.accepted >= size { // the limit went down
			b.accepted = 0
		}
	case !tooLarge && size > b.accepted && (b.refused == 0 || size < b.refused):
		b.accepted = size
	}
}

// sendSplitting fills outs (one per record). It returns the outcome of a
// request that failed as a whole, else nil: the rest of a split batch is
// then not sent into the same failure but marked with it.
func (s *Sink) sendSplitting(ctx context.Context, recs []rec, outs []outcome) *outcome {
	items, status, err := s.post(ctx, recs)
	if err == nil || status == http.StatusRequestEntityTooLarge {
		s.sizeMu.Lock()
		s.sizes.note(bodySize(recs), err != nil, time.Now())
		s.sizeMu.Unlock()
	}
	if err == nil {
		for i, it := range items {
			outs[i] = it.outcome()
		}
		return nil
	}
	o := outcome{status: status, reason: err.Error()}
	// A 400 that is not Elasticsearch's (a proxy's rule, plain HTTP sent
	// to an HTTPS port) is the endpoint's, whatever the records hold:
	// halved down to single notices, every notice was rejected for good,
	// the spool too. A 413 is split whoever says it (a proxy's body limit).
	if status != http.StatusRequestEntityTooLarge && (status != http.StatusBadRequest || errors.Is(err, errNotES)) {
		o.whole = true
		fill(outs, o)
		return &o
	}
	if len(recs) == 1 { // refused on its own: the record's fault
		outs[0] = o
		return nil
	}
	if status == http.StatusRequestEntityTooLarge {
		s.logSplit(recs, o)
	}
	h := len(recs) / 2
	if f := s.sendSplitting(ctx, recs[:h], outs[:h]); f != nil {
		fill(outs[h:], *f)
		return f
	}
	return s.sendSplitting(ctx, recs[h:], outs[h:])
}

// bodySize is the size of a bulk request body of recs.
func bodySize(recs []rec) int {
	size := 0
	for _, r := range recs {
		size += r.size()
	}
	return size
}

func fill(outs []outcome, o outcome) {
	for i := range outs {
		outs[i] = o
	}
}

// logSplit says (on the 1st, 2nd, 4th, 8th... time) that bulk requests
// are too large for the cluster or a proxy in front of it.
func (s *Sink) logSplit(recs []rec, o outcome) {
	n := s.splits.Add(1)
	if n&(n-1) != 0 {
		return
	}
	size := bodySize(recs)
	s.logf("elasticsearch: a bulk request of %d bytes (%d notices) was refused as too large (%s), sent again in halves (%d times so far): "+
		"set flush_bytes (now %d) below the limit of the cluster (http.max_content_length) or of the proxy in front of it",
		size, len(recs), o.reason, n, s.cfg.FlushBytes)
}

// clientError reports whether status is a 4xx that waiting does not fix
// (not 408 or 429): a refusal by the cluster, not an outage.
func clientError(status int) bool {
	return status >= 400 && status < 500 && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests
}

// outage says what a request that failed as a whole means: its kind (one
// log line per kind while it lasts) and the line for the log.
func outage(o outcome) (kind, text string) {
	switch {
	case o.status == http.StatusUnauthorized:
		return "authentication", "authentication failed (" + o.reason + "): check username and password, api_key or bearer_token (read at start)"
	case o.status == http.StatusForbidden:
		return "authorisation", "not authorised (" + o.reason + "): the user's roles lack a privilege this needs"
	case clientError(o.status):
		return "refused", "requests refused (" + o.reason + ")"
	default:
		return "unreachable", "cluster unreachable (" + o.reason + ")"
	}
}

// noteOutage logs a request that failed as a whole, once per kind of
// failure until outageOver; then says what happens to the notices.
func (s *Sink) noteOutage(o outcome, then string) {
	kind, text := outage(o)
	s.outageMu.Lock()
	defer s.outageMu.Unlock()
	if kind != s.outageKind {
		s.outageKind = kind
		s.logf("elasticsearch: %s; %s", text, then)
	}
}

// outageOver is called when requests go through again.
func (s *Sink) outageOver() {
	s.outageMu.Lock()
	s.outageKind = ""
	s.outageMu.Unlock()
}

// describe names a notice for the log: its id, rule, source and time (a
// damaged record shows what can be read of it).
func describe(r rec) string {
	var d struct {
		Timestamp string `json:"@timestamp"`
		Event     struct {
			ID string `json:"id"`
		} `json:"event"`
		Rule struct {
			Name string `json:"name"`
		} `json:"rule"`
		Source struct {
			IP string `json:"ip"`
		} `json:"source"`
	}
	_ = json.Unmarshal(r.doc, &d)
	var m map[string]struct {
		ID string `json:"_id"`
	}
	_ = json.Unmarshal(r.meta, &m)
	// event.id (what the analyst searches for; the _id also hashes the
	// sensor's name), else the action line's _id (a damaged document)
	id := d.Event.ID
	for _, a := range m {
		if id == "" {
			id = a.ID
		}
	}
	or := func(v string) string {
		if v == "" {
			return "?"
		}
		return v
	}
	return fmt.Sprintf("%s (rule %s, source %s, @timestamp %s)", or(id), or(d.Rule.Name), or(d.Source.IP), or(d.Timestamp))
}

// queued is what Write hands a bulk worker: a record, or (flushed set) a
// request to send what the worker holds and then close flushed.
type queued struct {
	r       rec
	flushed chan struct{}
}

// startWorkers starts cfg.Workers bulk workers, each with its own queue
// (so that a flush request comes after the records queued before it).
func (s *Sink) startWorkers() {
	s.queues = make([]chan queued, s.cfg.Workers)
	for i := range s.queues {
		q := make(chan queued, 1)
		s.queues[i] = q
		s.workers.Add(1)
		go s.worker(q)
	}
}

// worker gathers records into a bulk request of at most flush_bytes (a
// record larger than that goes alone) and sends it when full, every
// flush_interval, on a flush request, and when its queue is closed.
func (s *Sink) worker(q chan queued) {
	defer s.workers.Done()
	var batch []rec
	size := 0
	tick := time.NewTicker(s.cfg.FlushInterval)
	defer tick.Stop()
	flush := func() {
		if len(batch) > 0 {
			s.sendLive(batch)
		}
		batch, size = batch[:0], 0
		tick.Reset(s.cfg.FlushInterval)
	}
	for {
		select {
		case <-tick.C:
			flush()
		case it, ok := <-q:
			switch {
			case !ok:
				flush()
				return
			case it.flushed != nil:
				flush()
				close(it.flushed)
			default:
				if len(batch) > 0 && size+it.r.size() > s.cfg.FlushBytes {
					flush()
				}
				batch = append(batch, it.r)
				if size += it.r.size(); size >= s.cfg.FlushBytes {
					flush()
				}
			}
		}
	}
}

// enqueue hands r to a worker: the first with room, else it waits for the
// next in turn until ctx is done.
func (s *Sink) enqueue(ctx context.Context, r rec) error {
	n := s.next.Add(1)
	k := uint64(len(s.queues))
	for i := uint64(0); i < k; i++ {
		select {
		case s.queues[(n+i)%k] <- queued{r: r}:
			return nil
		default:
		}
	}
	select {
	case s.queues[n%k] <- queued{r: r}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flushWorkers has every worker send what it holds, and waits for them.
func (s *Sink) flushWorkers(ctx context.Context) error {
	dones := make([]chan struct{}, len(s.queues))
	for i, q := range s.queues {
		dones[i] = make(chan struct{})
		select {
		case q <- queued{flushed: dones[i]}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for _, d := range dones {
		select {
		case <-d:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// stopWorkers closes the queues (the workers send what they hold) and
// waits for the workers until ctx is done.
func (s *Sink) stopWorkers(ctx context.Context) error {
	for _, q := range s.queues {
		close(q)
	}
	done := make(chan struct{})
	go func() {
		s.workers.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
