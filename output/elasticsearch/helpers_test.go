package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	elasticsearch "github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/zeekanom/zeekanom/output/notice"
)

// esURL is the test node (scripts/es-node start). Unset: skip under -short;
// fail in CI; otherwise skip with a hint.
func esURL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv("ZEEKANOM_ES_URL"); u != "" {
		return u
	}
	if testing.Short() {
		t.Skip("ZEEKANOM_ES_URL not set (-short)")
	}
	if os.Getenv("CI") != "" {
		t.Fatal("ZEEKANOM_ES_URL not set in CI: scripts/test must start the node with scripts/es-node start")
	}
	t.Skip("ZEEKANOM_ES_URL not set: run scripts/es-node start and export ZEEKANOM_ES_URL")
	return ""
}

var seq struct {
	sync.Mutex
	n int
}

// testIndex is a fresh data stream name per test, matched by the template.
func testIndex(t testing.TB) string {
	seq.Lock()
	seq.n++
	n := seq.n
	seq.Unlock()
	name := strings.ToLower(t.Name())
	name = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, name)
	return fmt.Sprintf("logs-zeekanom.notice-%s_%d_%d", name, time.Now().UnixNano()%1e9, n)
}

var base = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

// makeNotices builds n realistic notices: several rules, sources inside
// 10.0.0.0/8 (every other one) and on the internet, spread over 24h.
func makeNotices(n int, seed uint64) []*notice.Notice {
	r := rand.New(rand.NewPCG(seed, 7))
	rules := []string{notice.RuleBeacon, notice.RuleScanHorizontal, notice.RuleDNSTunnel, notice.RuleExfiltration, notice.RuleLongConnection}
	out := make([]*notice.Notice, 0, n)
	for i := 0; i < n; i++ {
		var src netip.Addr
		if i%2 == 0 {
			src = netip.AddrFrom4([4]byte{10, byte(r.IntN(4)), byte(r.IntN(256)), byte(1 + r.IntN(250))})
		} else {
			src = netip.AddrFrom4([4]byte{192, 0, 2, byte(1 + r.IntN(250))})
		}
		dst := netip.AddrFrom4([4]byte{203, 0, 113, byte(1 + r.IntN(250))})
		start := base.Add(time.Duration(i) * 24 * time.Hour / time.Duration(n))
		rule := rules[i%len(rules)]
		nt := &notice.Notice{
			Start: start, End: start.Add(5 * time.Minute),
			RiskScore: float64(r.IntN(1000)) / 10, Rule: rule,
			Message: fmt.Sprintf("%s from %s to %s", rule, src, dst),
			Source:  src, Destination: dst, DestPort: uint16(443 + i%3), Proto: "tcp",
			UIDs: []string{fmt.Sprintf("C%08x", r.Uint32())},
			Explain: notice.Explanation{
				Detector: strings.SplitN(rule, ".", 2)[0], Score: r.Float64() * 10, Window: 300,
				Features: map[string]notice.Feature{
					"conn_count":     notice.F(float64(r.IntN(500)), 20, r.Float64()*8),
					"interval_cv":    notice.F(r.Float64(), 0.9, -r.Float64()*4),
					"bytes_out_log2": {Value: r.Float64() * 30},
				},
				Top: []string{"conn_count", "interval_cv"},
			},
		}
		if rule == notice.RuleDNSTunnel {
			nt.Domain = fmt.Sprintf("t%d.example.com", i)
			nt.DestPort, nt.Proto = 53, "udp"
		}
		if rule == notice.RuleBeacon && i%10 == 0 { // to a rotating /24: no destination.ip
			nt.Destination, nt.DestNet = netip.Addr{}, netip.MustParsePrefix("198.51.100.0/24")
		}
		nt.Finalize(fmt.Sprint(i))
		out = append(out, nt)
	}
	return out
}

func testClient(t testing.TB, url string) *elasticsearch.Client {
	t.Helper()
	es, err := NewClient(Config{URLs: []string{url}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// call does one REST call and decodes the JSON answer; it fails on >= 300.
func call(t testing.TB, es *elasticsearch.Client, method, path string, body any) map[string]any {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := es.Perform(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: %v: %s", method, path, err, b)
	}
	return out
}

func count(t testing.TB, es *elasticsearch.Client, index string, query any) int {
	t.Helper()
	call(t, es, "POST", "/"+index+"/_refresh", nil)
	body := map[string]any{}
	if query != nil {
		body["query"] = query
	}
	res := call(t, es, "POST", "/"+index+"/_count", body)
	return int(res["count"].(float64))
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond) // poll interval, bounded by the deadline
	}
}

// proxy is a TCP proxy in front of the node that can be stopped and
// started on the same port, to simulate an outage.
type proxy struct {
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

func newProxy(t testing.TB, target string) *proxy {
	p := &proxy{target: target, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.stop)
	return p
}

func (p *proxy) url() string { return "http://" + p.addr }

func (p *proxy) start(t testing.TB) {
	var ln net.Listener
	var err error
	eventually(t, 10*time.Second, "proxy port to be free again", func() bool {
		ln, err = net.Listen("tcp", p.addr)
		return err == nil
	})
	p.serve(ln)
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
}

// stop closes the listener and every open connection.
func (p *proxy) stop() {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
	p.mu.Unlock()
	p.wg.Wait()
}

func writeAll(t testing.TB, s *Sink, ns []*notice.Notice) {
	t.Helper()
	if err := writeFlush(s, ns); err != nil {
		t.Fatal(err)
	}
}

// writeFlush writes ns and flushes: the first error.
func writeFlush(s *Sink, ns []*notice.Notice) error {
	ctx := context.Background()
	for _, n := range ns {
		if err := s.Write(ctx, n); err != nil {
			return err
		}
	}
	return s.Flush(ctx)
}

// sinkDocID is the _id s gives n (DocID of n stamped with s's sensor).
func sinkDocID(s *Sink, n *notice.Notice) string {
	c := *n
	c.Observer = s.observer
	return DocID(&c)
}

// legacyPatterns are the patterns of the installed shared template other
// than IndexPattern (none when it cannot be read: the PUT then says why).
func legacyPatterns(ctx context.Context, tr esapi.Transport) []string {
	t, _ := adminClient{tr, adminTimeout}.installed(ctx, TemplateName)
	return t.legacyPatterns()
}
