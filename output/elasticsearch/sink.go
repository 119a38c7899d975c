package elasticsearch

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	elasticsearch "github.com/elastic/go-elasticsearch/v8"

	"github.com/zeekanom/zeekanom/output"
	"github.com/zeekanom/zeekanom/output/notice"
)

var _ output.SelfFlushing = (*Sink)(nil)

// Stats are the sink's counters since New, for the metrics layer.
type Stats struct {
	Indexed    int64 // documents created
	Duplicates int64 // create answered 409: already indexed (replays, restarts)
	Failed     int64 // rejected for good (mapping conflicts, bad documents)
	Spooled    int64 // notices written to the disk spool
	Replayed   int64 // spooled notices acknowledged by the cluster
	Dropped    int64 // notices lost because the spool was full or disabled (not also in Failed)
	SpoolBytes int64 // bytes now in the spool
	Retries    int64 // requests sent again: the client's (429, 5xx, network errors), the follow-ups of notices refused for now (retryItems)
	Filtered   int64 // below min_risk, not sent
	Lost       int64 // Failed + Dropped (Lost): the metrics' output errors
	// LastError is the most recent per-item or transport error, for humans.
	LastError string
}

// Sink writes notices to Elasticsearch. It implements output.Sink.
type Sink struct {
	cfg      Config
	observer notice.Observer // stamped on every notice (Config.Observer)
	es       *elasticsearch.Client
	spool    *spool // nil without SpoolDir
	logf     func(format string, args ...any)

	// The bulk workers (bulk.go): one queue each.
	queues  []chan queued
	next    atomic.Uint64 // round robin over queues
	workers sync.WaitGroup

	// down is set when the cluster could not be reached (or the spool holds
	// notices that must go first, or WithTemplate could not install the
	// template at start); guarded by spool.mu when spool != nil.
	down atomic.Bool

	indexed, duplicates, failed, spooled, replayed, dropped, retries, filtered atomic.Int64
	splits                                                                     atomic.Int64 // bulk requests sent again in halves after a 413
	sizeMu                                                                     sync.Mutex
	sizes                                                                      bodySizes    // the request sizes after a 413 (fits)
	lastErr                                                                    atomic.Value // string

	// outageKind is the kind of whole-request failure last logged (outage),
	// "" when requests go through.
	outageMu   sync.Mutex
	outageKind string

	resume        replayState // the replayer's place in the spool (its goroutine only)
	replayFailing atomic.Bool // the replayer's last attempt failed
	// replayStarted numbers the replayer's attempts as they start,
	// replayDone is the number of the last one finished (see drain)
	replayStarted, replayDone atomic.Int64

	// needTemplate: WithTemplate, and the index template is not installed
	// yet; it is installed (ensureTemplate, under templateMu) before any
	// notice is sent.
	needTemplate atomic.Bool
	templateMu   sync.Mutex

	// requestTimeout bounds a request, from sending it (with the client's
	// retries) to the end of its answer's body (within); 0: bulkTimeout
	// for a bulk request, adminTimeout for the template's. Tests shorten
	// it (withRequestTimeout).
	requestTimeout time.Duration
	// givenUp counts the batches whose items answered 429/5xx were still
	// refused after max_retries follow-up requests (logGivenUp).
	givenUp atomic.Int64

	// backpressure (WithBackpressure): Write waits for room in the bulk
	// queue while the cluster answers, unless writeTimeoutSet (write_timeout
	// given in the config, not defaulted).
	backpressure, writeTimeoutSet bool

	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	closeMu sync.Once
}

// Option adjusts a Sink (tests and the CLI).
type Option func(*Sink)

// WithLogf routes the sink's log lines (default: log.Printf).
func WithLogf(f func(string, ...any)) Option { return func(s *Sink) { s.logf = f } }

// WithTemplate has New install the index template (as Setup does) before
// the sink sends anything. When the cluster cannot be reached for it (no
// answer, 408, 429 or 5xx, after the client's retries) New logs so and
// returns the sink anyway: it installs the template before the first
// notice it sends, and until then notices wait in the spool as in an
// outage (without a spool, those that cannot be indexed are dropped:
// counted in Dropped). Another 4xx (credentials, privileges, a
// template the cluster refuses) is New's error.
func WithTemplate() Option { return func(s *Sink) { s.needTemplate.Store(true) } }

// WithBackpressure is for a writer whose input can wait (score re-scoring
// files): while the cluster answers, Write waits for room in the bulk
// queue as long as it takes (or until its context is done) instead of at
// most write_timeout, so a slow cluster slows the writer down rather than
// costing notices (without a spool they were dropped). In an outage (a
// request failed as a whole and none has gone through since, or the
// cluster could not be reached at start) Write waits at most write_timeout
// as without it, so a cluster that is down still fails as fast as before.
// A write_timeout set in the config is honoured whatever the cluster does.
func WithBackpressure() Option { return func(s *Sink) { s.backpressure = true } }

// withRequestTimeout sets the bound of every request (tests; default
// bulkTimeout, adminTimeout for the template's).
func withRequestTimeout(d time.Duration) Option { return func(s *Sink) { s.requestTimeout = d } }

// NewClient builds a go-elasticsearch client from the config: TLS, auth,
// retries on 429/5xx/network errors with exponential backoff and jitter.
// onRetry, if non-nil, is called once per retry sent of a request made by
// this package (within marks them; a request made on the client directly
// is not counted).
func NewClient(cfg Config, onRetry func()) (*elasticsearch.Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if err := cfg.ResolveSecrets(); err != nil {
		return nil, err
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify} //nolint:gosec // opt-in
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("elasticsearch: ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("elasticsearch: ca_file %s: no certificates", cfg.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	if cfg.CertFile != "" || cfg.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("elasticsearch: client certificate: %w", err)
		}
		tlsCfg.Certificates = []tls.Certificate{cert}
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsCfg,
		MaxIdleConnsPerHost:   cfg.Workers * 2,
		ResponseHeaderTimeout: 60 * time.Second,
		IdleConnTimeout:       90 * time.Second,
	}
	return elasticsearch.NewClient(elasticsearch.Config{
		Addresses:     cfg.URLs,
		Username:      cfg.Username,
		Password:      cfg.Password,
		APIKey:        cfg.APIKey,
		ServiceToken:  cfg.BearerToken,
		Transport:     statusRecorder{tr, onRetry},
		RetryOnStatus: []int{429, 500, 502, 503, 504},
		MaxRetries:    cfg.MaxRetries,
		RetryBackoff: func(attempt int) time.Duration {
			// (the transport calls it after its last attempt too, and
			// waits before giving up: no wait then, no retry follows)
			if attempt > cfg.MaxRetries {
				return 0
			}
			return backoff(attempt, retryBase, retryCap)
		},
	})
}

// statusKey is the context key of an *atomic.Int64 in which statusRecorder
// keeps the HTTP status of the last response a request got.
type statusKey struct{}

// statusRecorder is the client's transport: it notes response statuses
// for callers that ask (setupStatus), whatever the request, and counts the
// retries sent (onRetry). They were counted in the transport's backoff
// callback, which it also calls after its last attempt and when the
// request's deadline ended an attempt (Retries counted 1 for a request
// sent once, stalled and given up).
type statusRecorder struct {
	http.RoundTripper
	onRetry func()
}

func (r statusRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	// the transport sends the same request again on a retry: its second
	// sending is the first retry (within gives each request its counter)
	if n, _ := req.Context().Value(sendsKey{}).(*atomic.Int32); n != nil && n.Add(1) > 1 && r.onRetry != nil && req.Context().Err() == nil {
		r.onRetry()
	}
	res, err := r.RoundTripper.RoundTrip(req)
	if p, _ := req.Context().Value(statusKey{}).(*atomic.Int64); p != nil && res != nil {
		p.Store(int64(res.StatusCode))
	}
	return res, err
}

// retryBase and retryCap bound the client's backoff between retries of a
// request, and the sink's between the requests that send again the items
// answered 429 or 5xx inside a bulk response (retryItems).
const (
	retryBase = 50 * time.Millisecond
	retryCap  = 5 * time.Second
)

// backoff is exponential with full jitter: a random duration in
// [d/2, d) where d = base*2^(attempt-1), capped at max.
func backoff(attempt int, base, max time.Duration) time.Duration {
	d := base
	for i := 1; i < attempt && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return d/2 + rand.N(d/2+1)
}

// New connects (lazily: no request is made, but for WithTemplate's) and
// starts the bulk workers and the spool replayer. Install the index
// template with WithTemplate, or call Setup once.
func New(ctx context.Context, cfg Config, opts ...Option) (*Sink, error) {
	if err := cfg.Validate(); err != nil { // before the defaults replace a negative value
		return nil, err
	}
	set := cfg.WriteTimeout > 0
	cfg = cfg.withDefaults()
	s := &Sink{cfg: cfg, writeTimeoutSet: set, logf: log.Printf, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	s.observer.Hostname, _ = os.Hostname()
	s.observer.Name = cmp.Or(cfg.Observer, s.observer.Hostname)
	for _, o := range opts {
		o(s)
	}
	es, err := NewClient(cfg, func() { s.retries.Add(1) })
	if err != nil {
		return nil, err
	}
	s.es = es
	if cfg.SpoolDir != "" {
		if s.spool, err = openSpool(cfg.SpoolDir, cfg.SpoolMaxBytes); err != nil {
			return nil, err
		}
		if s.spool.size() > 0 {
			// Leftovers from a previous run go first.
			s.down.Store(true)
		}
	}
	if s.needTemplate.Load() {
		if err := s.installAtStart(ctx); err != nil {
			return nil, err
		}
	}
	s.startWorkers()
	go s.replayer()
	s.kick()
	return s, nil
}

// Client is the underlying go-elasticsearch client.
func (s *Sink) Client() *elasticsearch.Client { return s.es }

// Index is the data stream notices go to.
func (s *Sink) Index() string { return s.cfg.Index }

func (s *Sink) setErr(msg string) { s.lastErr.Store(msg) }

func (s *Sink) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// record is the bulk form of one notice: the create action and the doc.
// MarshalJSON is called directly: json.Marshal would re-validate and
// compact its output, a third of the encoding cost.
func (s *Sink) record(n *notice.Notice) (rec, error) {
	doc, err := n.MarshalJSON()
	if err != nil {
		return rec{}, err
	}
	return rec{meta: s.meta(DocID(n)), doc: doc}, nil
}

// DocID is a notice's _id: its event.id and its sensor's observer.name
// hashed together (16 bytes of SHA-256, hex, as event.id). Writing the
// same notice again from the same sensor is a 409 (replays, restarts,
// re-runs); two sensors that share a data stream each keep their notice.
// The _id was event.id until 2026-12-01: a second sensor's notice of the
// same rule, entities and window (the same traffic seen from two taps,
// or two sites with the same private addresses) was answered 409 and
// counted as a duplicate, never indexed, with no word in the log.
func DocID(n *notice.Notice) string {
	h := sha256.New()
	h.Write([]byte(n.Observer.Name))
	h.Write([]byte{0})
	h.Write([]byte(n.ID))
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// meta is the bulk action line for a document id.
func (s *Sink) meta(id string) []byte {
	b := make([]byte, 0, 40+len(s.cfg.Index)+len(id))
	b = append(b, `{"create":{"_index":`...)
	b = strconv.AppendQuote(b, s.cfg.Index)
	b = append(b, `,"_id":`...)
	b = strconv.AppendQuote(b, id)
	return append(b, "}}"...)
}

// installAtStart is WithTemplate's install in New: nil when the template
// is installed or deferred (needTemplate stays set), else the error that
// retrying cannot fix.
func (s *Sink) installAtStart(ctx context.Context) error {
	status, err := s.setupStatus(ctx)
	if err == nil {
		s.needTemplate.Store(false)
		return nil
	}
	if ctx.Err() != nil || clientError(status) {
		return fmt.Errorf("installing the index template: %w", err)
	}
	o := outcome{status: status, whole: true, reason: err.Error()}
	if s.spool == nil {
		s.noteOutage(o, "starting anyway: the index template is installed before the first notice is sent; "+
			"no spool_dir: until then notices that cannot be indexed are dropped (counted in Dropped)")
		return nil
	}
	s.down.Store(true) // before the replayer and the writers start
	s.noteOutage(o, "starting anyway: notices are spooled to "+s.cfg.SpoolDir+" and sent once the index template is installed")
	return nil
}

// setupStatus is Setup, with the HTTP status of its last response (0 when
// there was none).
func (s *Sink) setupStatus(ctx context.Context) (int, error) {
	var status atomic.Int64
	err := s.Setup(context.WithValue(ctx, statusKey{}, &status))
	return int(status.Load()), err
}

// ensureTemplate installs the index template if New could not (WithTemplate):
// nil once it is in place, else the outcome for the notices that were to
// be sent.
func (s *Sink) ensureTemplate(ctx context.Context) *outcome {
	if !s.needTemplate.Load() {
		return nil
	}
	s.templateMu.Lock()
	defer s.templateMu.Unlock()
	if !s.needTemplate.Load() {
		return nil
	}
	status, err := s.setupStatus(ctx)
	if err != nil {
		return &outcome{status: status, whole: true, reason: err.Error()}
	}
	s.needTemplate.Store(false)
	s.logf("elasticsearch: index template installed")
	return nil
}

// Write stamps event.ingested and queues the notice for a bulk request, or
// appends it to the spool while the cluster is unreachable (or the spool
// still holds older notices). It waits at most WriteTimeout for room in the
// bulk queue, then spools (or, without a spool, drops the notice); with
// WithBackpressure, as long as the cluster answers (see queueWait).
func (s *Sink) Write(ctx context.Context, n *notice.Notice) error {
	if n.RiskScore < s.cfg.MinRisk {
		s.filtered.Add(1)
		return nil
	}
	c := *n
	c.Ingested = time.Now().UTC()
	c.Observer = s.observer
	if c.ID == "" {
		c.Finalize("")
	}
	r, err := s.record(&c)
	if err != nil {
		s.failed.Add(1)
		return fmt.Errorf("elasticsearch: encoding notice: %w", err)
	}
	if s.spool != nil {
		s.spool.mu.Lock()
		if s.down.Load() {
			err := s.spoolLocked(r)
			s.spool.mu.Unlock()
			return err
		}
		s.spool.mu.Unlock()
	}
	actx, wait := ctx, s.queueWait()
	if wait > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, wait)
		defer cancel()
	}
	if err := s.enqueue(actx, r); err != nil {
		// The queue stayed full (cluster slow or gone), or the caller is
		// stopping: spool instead of blocking. (A done ctx used to return
		// its error with the notice neither spooled nor counted: run,
		// stopping on SIGTERM mid-batch, then checkpointed past it.)
		why := fmt.Sprintf("no room in the bulk queue within write_timeout (%s)", s.cfg.WriteTimeout)
		if ctx.Err() != nil {
			why = "no room in the bulk queue before the writer stopped (" + ctx.Err().Error() + ")"
		}
		return s.toSpool(r, outcome{whole: true, reason: why})
	}
	return nil
}

// queueWait is how long Write waits for room in the bulk queue (0: until
// its context is done). With WithBackpressure and no write_timeout in the
// config it does not give up while the cluster answers: a bulk worker
// always comes back for more, once its request is answered or has failed
// (bounded: 5 s to connect, 60 s for an answer's headers, bulkTimeout for
// a request with its retries and its answer's body, max_retries follow-ups
// of the notices refused for now, retryItems), so the wait is the
// cluster's pace. In an outage it is write_timeout, as without it.
func (s *Sink) queueWait() time.Duration {
	if s.backpressure && !s.writeTimeoutSet && !s.inOutage() {
		return 0
	}
	return s.cfg.WriteTimeout
}

// inOutage reports whether a request failed as a whole (or the cluster
// could not be reached at start) and none has gone through since.
func (s *Sink) inOutage() bool {
	s.outageMu.Lock()
	defer s.outageMu.Unlock()
	return s.outageKind != ""
}

// sendLive sends a worker's batch and settles each notice: counted as
// indexed, duplicate or failed, or spooled to be sent again (dropped
// without a spool). Notices answered 429 or 5xx on their own are first
// sent again in requests of their own (retryItems): without a spool (score
// --es-url) they were dropped at once, so a busy cluster's write queue cost
// notices.
func (s *Sink) sendLive(batch []rec) {
	ctx := context.Background() // bounded: post's deadline, max_retries
	outs := s.bulk(ctx, batch)
	if left := s.retryItems(ctx, batch, outs); len(left) > 0 {
		then := "spooled to " + s.cfg.SpoolDir + ", sent from there when the cluster takes them"
		if s.spool == nil {
			then = "no spool_dir: dropped (counted in Dropped)"
		}
		s.logGivenUp(len(left), outs[left[0]], then)
	}
	through := false
	for i, o := range outs {
		switch o.verdict() {
		case indexed:
			s.indexed.Add(1)
			through = true
		case duplicate:
			s.duplicates.Add(1)
			through = true
		case retry:
			s.setErr(o.reason)
			_ = s.toSpool(batch[i], o)
		default:
			s.reject(batch[i], o, "notice")
		}
	}
	if through && s.spool == nil {
		s.outageOver() // with a spool: when it is drained
	}
}

// reject counts a notice Elasticsearch refused for good and logs why,
// naming it (id, rule, source, time).
func (s *Sink) reject(r rec, o outcome, what string) {
	s.failed.Add(1)
	msg := fmt.Sprintf("%s %s rejected: %s", what, describe(r), o.reason)
	s.setErr(msg)
	s.logf("elasticsearch: %s", msg)
}

// toSpool appends a record that could not be indexed (o says why) to the
// spool. When the request failed as a whole (or the notice was refused for
// want of a privilege), later writes go there too until the replayer has
// drained it (so order is kept).
func (s *Sink) toSpool(r rec, o outcome) error {
	if s.spool == nil {
		// (Dropped only: counted in Failed too, one notice was two
		// losses to whoever added the counters)
		s.dropped.Add(1)
		if o.refusesAll() {
			s.noteOutage(o, "no spool_dir: notices that cannot be indexed are dropped (counted in Dropped)")
		}
		return nil
	}
	s.spool.mu.Lock()
	if o.refusesAll() && !s.down.Load() {
		s.down.Store(true)
		s.noteOutage(o, "spooling notices to "+s.cfg.SpoolDir)
	}
	err := s.spoolLocked(r)
	s.spool.mu.Unlock()
	s.kick()
	return err
}

func (s *Sink) spoolLocked(r rec) error {
	b := make([]byte, 0, r.size())
	b = append(append(append(append(b, r.meta...), '\n'), r.doc...), '\n')
	err := s.spool.appendLocked(b)
	if errors.Is(err, errSpoolFull) {
		d := s.dropped.Add(1)
		if d&(d-1) == 0 { // 1, 2, 4, 8, ...: loud but bounded
			s.logf("elasticsearch: SPOOL FULL (%d bytes in %s): %d notices dropped so far", s.cfg.SpoolMaxBytes, s.cfg.SpoolDir, d)
		}
		return nil
	}
	if err != nil {
		s.dropped.Add(1)
		s.setErr(err.Error())
		return fmt.Errorf("elasticsearch: spool: %w", err)
	}
	s.spooled.Add(1)
	return nil
}

// FlushesItself: the bulk indexer sends what it holds every
// flush_interval (output.SelfFlushing).
func (s *Sink) FlushesItself() bool { return true }

// Flush sends everything queued and makes the spool durable (fsync).
func (s *Sink) Flush(ctx context.Context) error {
	err := s.flushWorkers(ctx)
	if s.spool != nil {
		s.spool.mu.Lock()
		serr := s.spool.syncLocked()
		s.spool.mu.Unlock()
		if serr != nil {
			return fmt.Errorf("elasticsearch: spool sync: %w", serr)
		}
		if s.spool.size() > 0 && err == nil {
			s.kick()
			// Notices that could not be sent are durable in the spool:
			// that is what Flush promises.
			return nil
		}
		// (err: a worker still holds notices, neither acknowledged nor
		// spooled; nil here let run checkpoint past them at SIGTERM, and
		// they were lost uncounted when it exited)
	}
	if err != nil {
		return fmt.Errorf("elasticsearch: flush: %w", err)
	}
	return nil
}

// Close flushes, gives the replayer what is left of 30 s to empty the
// spool while its attempts succeed, stops it and closes the spool. Notices
// still in the spool stay on disk for the next run (or score) with it.
func (s *Sink) Close() error {
	var err error
	s.closeMu.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err = s.Flush(ctx)
		s.drain(ctx)
		close(s.stop)
		<-s.done
		if cerr := s.stopWorkers(ctx); err == nil && cerr != nil {
			err = cerr
		}
		if s.spool != nil {
			if cerr := s.spool.close(); err == nil && cerr != nil {
				err = cerr
			}
			if n := s.spool.size(); n > 0 {
				s.logf("elasticsearch: %d bytes of notices left in the spool %s: the next run or score with this spool_dir sends them", n, s.cfg.SpoolDir)
			}
		}
	})
	return err
}

// drain waits until ctx is done for the replayer to empty the spool, as
// long as its attempts succeed: a score that ends soon after the cluster is
// back sends what waited in the spool (and its own notices, spooled behind)
// instead of leaving it all to a later run.
func (s *Sink) drain(ctx context.Context) {
	if s.spool == nil {
		return
	}
	// Whether the cluster takes the spool is known from an attempt that
	// starts after this kick, not from one that failed while it was down
	// (Close returned at once then, with the cluster back: a flaky test);
	// the first such attempt waits for the replayer's backoff, at most
	// probeWait, beyond which a cluster still down is not waited for.
	const probeWait = 5 * time.Second
	after := s.replayStarted.Load() + 1
	s.kick()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	probe := time.NewTimer(probeWait)
	defer probe.Stop()
	for s.Pending() {
		if s.replayDone.Load() >= after && s.replayFailing.Load() {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-probe.C:
			if s.replayDone.Load() < after {
				return
			}
		case <-tick.C:
		}
	}
}

// Lost is how many notices the sink has given up on since New: refused
// for good (Failed; with the spool's, left by an earlier run and replayed
// by this one, and its damaged records) or dropped for want of a spool or
// of room in it (Dropped). Notices left in the spool are not lost: a later
// run or score with the same spool_dir sends them.
func (s *Sink) Lost() int64 { return s.failed.Load() + s.dropped.Load() }

// Stats returns the counters.
func (s *Sink) Stats() Stats {
	st := Stats{
		Indexed: s.indexed.Load(), Duplicates: s.duplicates.Load(), Failed: s.failed.Load(),
		Spooled: s.spooled.Load(), Replayed: s.replayed.Load(), Dropped: s.dropped.Load(),
		Retries: s.retries.Load(), Filtered: s.filtered.Load(),
	}
	st.Lost = st.Failed + st.Dropped
	if s.spool != nil {
		st.SpoolBytes = s.spool.size()
	}
	st.LastError, _ = s.lastErr.Load().(string)
	return st
}

// Pending reports whether the spool holds notices not yet acknowledged.
func (s *Sink) Pending() bool { return s.spool != nil && (s.spool.size() > 0 || s.down.Load()) }

// replayer drains the spool whenever it holds data, with exponential backoff
// and jitter while the cluster stays unreachable.
func (s *Sink) replayer() {
	defer close(s.done)
	if s.spool == nil {
		return
	}
	attempt := 0
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var wait <-chan time.Time
		if attempt > 0 {
			timer.Reset(backoff(attempt, 200*time.Millisecond, 30*time.Second))
			wait = timer.C
		}
		select {
		case <-s.stop:
			return
		case <-s.wake:
			if attempt > 0 {
				// A failure is already scheduling us; don't hammer.
				select {
				case <-s.stop:
					return
				case <-wait:
				}
			}
		case <-wait:
		}
		seq := s.replayStarted.Add(1)
		err := s.replay()
		s.replayFailing.Store(err != nil)
		s.replayDone.Store(seq)
		if err != nil {
			select {
			case <-s.stop: // the attempt was cut short by Close
				return
			default:
			}
			attempt++
			s.setErr(err.Error())
			var re *retryError
			if errors.As(err, &re) && re.o.refusesAll() {
				s.noteOutage(re.o, "the spool is replayed when the cluster takes it again")
			}
			continue
		}
		attempt = 0
	}
}

// replay sends every spooled segment in order; nil when the spool is empty
// and writes may go straight to the bulk indexer again.
func (s *Sink) replay() error {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	defer cancel()
	if o := s.ensureTemplate(ctx); o != nil {
		return &retryError{*o}
	}
	for {
		segs, err := s.spool.segments()
		if err != nil {
			return err
		}
		if len(segs) == 0 {
			s.spool.mu.Lock()
			if s.spool.emptyLocked() || s.spool.active == nil {
				if s.down.Load() {
					s.logf("elasticsearch: spool drained, indexing directly again")
					s.outageOver()
				}
				s.down.Store(false)
				s.spool.mu.Unlock()
				return nil
			}
			s.spool.mu.Unlock()
			continue
		}
		for _, seg := range segs {
			if err := s.replaySegment(ctx, seg); err != nil {
				return err
			}
			if err := s.spool.remove(seg); err != nil {
				return err
			}
		}
	}
}

// replayState is where the replayer stands in the segment it replays, so
// that after a failed attempt it sends only what is not settled yet: each
// notice is counted once (as indexed, duplicate or failed).
type replayState struct {
	seg   string
	off   int64 // where the next record to read starts in seg
	retry []rec // records of seg read before off and not settled: sent first
}

// replaySegment sends a segment in batches of at most flush_bytes (a
// larger single notice alone) and returns nil once every notice in it is
// settled. On an error it keeps its place (s.resume) for the next attempt.
func (s *Sink) replaySegment(ctx context.Context, name string) error {
	st := &s.resume
	if st.seg != name {
		*st = replayState{seg: name}
	}
	f, err := os.Open(s.spool.path(name))
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Seek(st.off, io.SeekStart); err != nil {
		return err
	}
	r := &spoolReader{r: bufio.NewReaderSize(f, 256<<10)}
	eof := false
	for {
		batch, carry := st.retry, []rec(nil)
		size := 0
		for _, rc := range batch {
			size += rc.size()
		}
		for !eof && size < s.cfg.FlushBytes {
			rc, n, err := r.next()
			if err == io.EOF {
				eof = true
				break
			}
			if err == errDamaged {
				s.failed.Add(1)
				msg := fmt.Sprintf("spool %s: %d bytes at offset %d are not a whole record (%s), skipped", name, n, st.off, describe(rc))
				s.setErr(msg)
				s.logf("elasticsearch: %s", msg)
				st.off += n
				continue
			}
			if err != nil {
				st.retry = batch
				return err
			}
			st.off += n
			if len(batch) > 0 && size+rc.size() > s.cfg.FlushBytes {
				carry = []rec{rc}
				break
			}
			batch = append(batch, rc)
			size += rc.size()
		}
		if len(batch) == 0 {
			return nil
		}
		again, err := s.sendReplay(ctx, batch)
		st.retry = append(again, carry...)
		if err != nil {
			return err
		}
	}
}

// spoolReader reads a spool segment's records. A line may hold the end of
// one record and the start of the next (see next), so it keeps what it read
// of a line beyond a record for the next call.
type spoolReader struct {
	r    *bufio.Reader
	rest []byte // the start of the next record, read with the previous one
}

// errDamaged is a record that cannot be sent: skipped, counted and logged
// with where it is; the records after it are read as usual.
var errDamaged = errors.New("damaged record")

// actionPrefix starts every action line the sink writes (Sink.meta). A
// document never holds these bytes: its strings escape their quotes.
var actionPrefix = []byte(`{"create":`)

func (sr *spoolReader) line() ([]byte, error) {
	if l := sr.rest; l != nil {
		sr.rest = nil
		return l, nil
	}
	return sr.r.ReadBytes('\n')
}

// next reads a record (action line, document line) and the bytes it
// takes; io.EOF at the end, or where the last record was cut short (a
// crash while it was written). A record cut short mid-segment (a spool
// written before a write that failed half-way closed its segment, a disk
// error, a hand edit) leaves a document line cut short,
// run into the next record's action line: that line is split where the
// action starts, the record before it is errDamaged, and the next one is
// read whole. (Read as two lines, the next record's document was taken for
// an action line, and every record after it in the segment went with it,
// refused.) So is a write that failed inside the action line: the next
// record's action line runs on from it, on one line. A line where an
// action line should be that is not one is errDamaged alone.
func (sr *spoolReader) next() (rec, int64, error) {
	meta, err := sr.line()
	if err != nil {
		return rec{}, 0, err
	}
	if !bytes.HasPrefix(meta, actionPrefix) {
		return rec{doc: meta}, int64(len(meta)), errDamaged
	}
	if i := bytes.Index(meta[len(actionPrefix):], actionPrefix); i >= 0 {
		// the write failed in the action line: the next record's runs on
		// from it (taken whole, that record went with this one, refused)
		i += len(actionPrefix)
		sr.rest = meta[i:]
		return rec{doc: meta[:i]}, int64(i), errDamaged
	}
	doc, err := sr.line()
	if err != nil {
		return rec{}, 0, err
	}
	if i := bytes.Index(doc, actionPrefix); i >= 0 {
		sr.rest = doc[i:]
		return rec{meta: meta[:len(meta)-1], doc: doc[:i]}, int64(len(meta) + i), errDamaged
	}
	return rec{meta: meta[:len(meta)-1], doc: restamp(doc[:len(doc)-1])}, int64(len(meta) + len(doc)), nil
}

// restamp sets event.ingested to now on a spooled document: it is indexed now.
func restamp(doc []byte) []byte {
	key := []byte(`"ingested":"`)
	i := bytes.Index(doc, key)
	now := time.Now().UTC().Format(notice.TimeLayout)
	if i < 0 {
		return doc
	}
	j := i + len(key)
	k := bytes.IndexByte(doc[j:], '"')
	if k < 0 {
		return doc
	}
	out := make([]byte, 0, len(doc)+8)
	out = append(append(append(out, doc[:j]...), now...), doc[j+k:]...)
	return out
}

// sendReplay sends a batch of spooled notices and settles each; it returns
// those to be sent again (429/5xx still after retryItems, or the request
// failed as a whole), with an error saying why.
func (s *Sink) sendReplay(ctx context.Context, batch []rec) ([]rec, error) {
	outs := s.bulk(ctx, batch)
	if left := s.retryItems(ctx, batch, outs); len(left) > 0 {
		// the replayer's next attempt sends them again (the transport
		// counts its own retries, retryItems its requests)
		s.retries.Add(1)
		if ctx.Err() == nil { // (else Close cut the retries short)
			s.logGivenUp(len(left), outs[left[0]], "left in the spool for the replayer's next attempt")
		}
	}
	var again []rec
	var first *retryError
	for i, o := range outs {
		switch o.verdict() {
		case indexed:
			s.indexed.Add(1)
			s.replayed.Add(1)
		case duplicate:
			s.duplicates.Add(1)
			s.replayed.Add(1)
		case retry:
			again = append(again, batch[i])
			if first == nil {
				first = &retryError{o}
			}
		default:
			s.reject(batch[i], o, "spooled notice")
		}
	}
	if first == nil {
		return nil, nil
	}
	return again, first
}

// retryError is a replay batch not indexed for now: o is the outcome of
// its first notice to be sent again.
type retryError struct{ o outcome }

func (e *retryError) Error() string { return "elasticsearch: replay: " + e.o.reason }
