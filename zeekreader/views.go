package zeekreader

import (
	"fmt"
	"math"
	"net/netip"
	"time"
)

// The typed views are what detectors consume: plain structs filled from a
// Record by column indices resolved once per schema. Byte-slice fields point
// into the reader's buffer and are valid until the next Next; copy what you
// keep. Fields absent from a schema (old Bro logs lack local_resp, JSON
// omits unset keys) read as their zero value with the matching Has flag off.

// Tri is a bool that may be unset.
type Tri int8

const (
	Unknown Tri = iota
	False
	True
)

// Conn is a conn.log row.
type Conn struct {
	TS          time.Time
	UID         []byte
	Orig, Resp  netip.Addr
	OrigP       uint16
	RespP       uint16
	Proto       []byte // tcp, udp, icmp
	Service     []byte
	Duration    time.Duration // 0 when unset (see HasDuration)
	HasDuration bool
	OrigBytes   uint64 // 0 when unset (see HasOrigBytes)
	RespBytes   uint64 // 0 when unset (see HasRespBytes)
	// HasRespBytes: the row gives resp_bytes. Zeek leaves it unset ("-",
	// or out of a JSON row) on a connection of no duration, a trimmed
	// config may log no such column, and some JSON writers leave out
	// every zero: without it, a RespBytes of 0 says nothing.
	HasRespBytes bool
	HasOrigBytes bool // the row gives orig_bytes, as HasRespBytes says
	ConnState    []byte
	LocalOrig    Tri
	LocalResp    Tri
	MissedBytes  uint64
	History      []byte
	OrigPkts     uint64 // 0 when unset (see HasOrigPkts)
	OrigIPBytes  uint64 // 0 when unset (see HasOrigIPBytes)
	RespPkts     uint64 // 0 when unset (see HasRespPkts)
	// HasRespPkts: the row gives resp_pkts, as HasRespBytes says of
	// resp_bytes (Zeek logs it, 0 included, even where it leaves
	// resp_bytes unset; a trimmed config or a JSON writer may not).
	// HasOrigPkts, HasOrigIPBytes and HasRespIPBytes say the same of
	// orig_pkts, orig_ip_bytes and resp_ip_bytes: a notice shows a count
	// only where the row gave it (these bools sit together, in what was
	// padding: Conn is no larger).
	HasRespPkts    bool
	HasOrigPkts    bool
	HasOrigIPBytes bool
	HasRespIPBytes bool
	RespIPBytes    uint64 // 0 when unset (see HasRespIPBytes)
	CommunityID    []byte
	// Label and DetailedLabel are the Stratosphere ground-truth columns of
	// labelled datasets (empty elsewhere).
	Label         []byte
	DetailedLabel []byte
}

// DNS is a dns.log row.
type DNS struct {
	TS         time.Time
	UID        []byte
	Orig, Resp netip.Addr
	OrigP      uint16
	RespP      uint16
	Proto      []byte
	TransID    uint64
	RTT        time.Duration
	Query      []byte
	QType      uint64
	QTypeName  []byte
	RCode      uint64
	HasRCode   bool
	RCodeName  []byte
	Rejected   Tri
	// Answers are the answer strings, the first MaxAnswers of them: none
	// when the field is unset or empty (a non-nil empty slice once an
	// earlier row had answers: its storage is reused from row to row).
	Answers [][]byte
	// AnswersCut is how many answers the row has past MaxAnswers, not in
	// Answers.
	AnswersCut    int
	Label         []byte
	DetailedLabel []byte
}

// HTTP is an http.log row.
type HTTP struct {
	TS                   time.Time
	UID                  []byte
	Orig, Resp           netip.Addr
	OrigP                uint16
	RespP                uint16
	Method, Host, URI    []byte
	Referrer, UserAgent  []byte
	RequestBodyLen       uint64
	ResponseBodyLen      uint64
	StatusCode           uint64
	Label, DetailedLabel []byte
}

// SSL is an ssl.log row.
type SSL struct {
	TS            time.Time
	UID           []byte
	Orig, Resp    netip.Addr
	OrigP         uint16
	RespP         uint16
	Version       []byte
	ServerName    []byte
	Established   Tri
	JA3, JA3S     []byte
	Label         []byte
	DetailedLabel []byte
}

type connIdx struct {
	ts, uid, oh, op, rh, rp, proto, service, duration, ob, rb, state, lo, lr,
	missed, history, op2, oipb, rp2, ripb, cid, label, dlabel int
}

type dnsIdx struct {
	ts, uid, oh, op, rh, rp, proto, trans, rtt, query, qtype, qtypeName, rcode,
	rcodeName, rejected, answers, label, dlabel int
}

type httpIdx struct {
	ts, uid, oh, op, rh, rp, method, host, uri, referrer, ua, reqLen, respLen,
	status, label, dlabel int
}

type sslIdx struct {
	ts, uid, oh, op, rh, rp, version, sni, established, ja3, ja3s, label, dlabel int
}

type viewCache struct {
	conn    *connIdx
	dns     *dnsIdx
	http    *httpIdx
	ssl     *sslIdx
	nfields int // len(Fields) when resolved; JSON schemas grow
}

func (s *Schema) fresh() bool { return s.views.nfields == len(s.Fields) }

func (s *Schema) refresh() {
	if !s.fresh() {
		s.views = viewCache{nfields: len(s.Fields)}
	}
}

func (s *Schema) connView() *connIdx {
	s.refresh()
	if s.views.conn == nil {
		x := s.Index
		s.views.conn = &connIdx{x("ts"), x("uid"), x("id.orig_h"), x("id.orig_p"), x("id.resp_h"),
			x("id.resp_p"), x("proto"), x("service"), x("duration"), x("orig_bytes"), x("resp_bytes"),
			x("conn_state"), x("local_orig"), x("local_resp"), x("missed_bytes"), x("history"),
			x("orig_pkts"), x("orig_ip_bytes"), x("resp_pkts"), x("resp_ip_bytes"), x("community_id"),
			x("label"), x("detailedlabel")}
	}
	return s.views.conn
}

func (s *Schema) dnsView() *dnsIdx {
	s.refresh()
	if s.views.dns == nil {
		x := s.Index
		s.views.dns = &dnsIdx{x("ts"), x("uid"), x("id.orig_h"), x("id.orig_p"), x("id.resp_h"),
			x("id.resp_p"), x("proto"), x("trans_id"), x("rtt"), x("query"), x("qtype"),
			x("qtype_name"), x("rcode"), x("rcode_name"), x("rejected"), x("answers"),
			x("label"), x("detailedlabel")}
	}
	return s.views.dns
}

func (s *Schema) httpView() *httpIdx {
	s.refresh()
	if s.views.http == nil {
		x := s.Index
		s.views.http = &httpIdx{x("ts"), x("uid"), x("id.orig_h"), x("id.orig_p"), x("id.resp_h"),
			x("id.resp_p"), x("method"), x("host"), x("uri"), x("referrer"), x("user_agent"),
			x("request_body_len"), x("response_body_len"), x("status_code"), x("label"), x("detailedlabel")}
	}
	return s.views.http
}

func (s *Schema) sslView() *sslIdx {
	s.refresh()
	if s.views.ssl == nil {
		x := s.Index
		s.views.ssl = &sslIdx{x("ts"), x("uid"), x("id.orig_h"), x("id.orig_p"), x("id.resp_h"),
			x("id.resp_p"), x("version"), x("server_name"), x("established"), x("ja3"), x("ja3s"),
			x("label"), x("detailedlabel")}
	}
	return s.views.ssl
}

// decoder collects the first bad field of a row.
type decoder struct {
	r   *Record
	bad string
	err error
}

func (d *decoder) fail(i int, what string) {
	if d.err == nil {
		d.bad = d.r.schema.Fields[i].Name
		d.err = fmt.Errorf("%w: not a valid %s: %q", ErrBadValue, what, clip(d.r.Raw(i)))
	}
}

func (d *decoder) time(i int, required bool) time.Time {
	t, ok := d.r.Time(i)
	if !ok && (!d.r.IsUnset(i) || required) {
		if i < 0 {
			d.err, d.bad = fmt.Errorf("%w: missing", ErrBadValue), "ts"
			return t
		}
		d.fail(i, "time")
	}
	return t
}

func (d *decoder) addr(i int, required bool) netip.Addr {
	a, ok := d.r.Addr(i)
	if !ok && (!d.r.IsUnset(i) || required) {
		if i < 0 || d.r.IsUnset(i) {
			if d.err == nil {
				d.err, d.bad = fmt.Errorf("%w: missing address", ErrBadValue), "id"
			}
			return a
		}
		d.fail(i, "address")
	}
	return a
}

func (d *decoder) uint(i int) uint64 {
	u, ok := d.r.Uint(i)
	if !ok && !d.r.IsUnset(i) {
		d.fail(i, "count")
	}
	return u
}

func (d *decoder) port(i int) uint16 {
	u := d.uint(i)
	if u > 65535 {
		d.fail(i, "port")
	}
	return uint16(u)
}

func (d *decoder) dur(i int) (time.Duration, bool) {
	v, ok := d.r.Duration(i)
	if !ok && !d.r.IsUnset(i) {
		d.fail(i, "interval")
	}
	return v, ok
}

func (d *decoder) tri(i int) Tri {
	b, ok := d.r.Bool(i)
	switch {
	case !ok && !d.r.IsUnset(i):
		d.fail(i, "bool")
		return Unknown
	case !ok:
		return Unknown
	case b:
		return True
	}
	return False
}

func (d *decoder) done() error {
	if d.err == nil {
		return nil
	}
	return &RowError{File: d.r.file, Line: d.r.lineNo, Field: d.bad, Err: d.err}
}

// DecodeConn fills c from a conn.log record. A bad or missing ts or
// address is a *RowError (the row is useless without them).
//
// Values the reader already typed at Next (TSV columns of known type) are
// taken straight from the record, and strings that need no unescaping
// straight from the line; anything else goes through the general decoder,
// which gives the same result for those. (Written out here: as methods,
// the fast forms cost too much to be inlined.)
func DecodeConn(r *Record, c *Conn) error {
	x := r.schema.connView()
	d := decoder{r: r}
	fl, num, line := r.flags, r.num, r.line
	parsed := func(i int) bool { return uint(i) < uint(len(fl)) && fl[i]&(fUnset|fParsed) == fParsed }
	str := func(i int) []byte { // r.Bytes(i)
		if uint(i) < uint(len(fl)) && fl[i]&(fUnset|fEmpty|fEscaped) == 0 {
			return line[r.spans[i].s:r.spans[i].e]
		}
		return r.Bytes(i)
	}
	// a count already converted (TSV count, JSON all-digit number)
	count := func(i int) bool { return uint(i) < uint(len(fl)) && fl[i]&(fUnset|fUint) == fUint }
	tri := func(i int) Tri {
		if uint(i) < uint(len(fl)) && fl[i]&fUnset == 0 && r.spans[i].e-r.spans[i].s == 1 {
			switch line[r.spans[i].s] {
			case 'T':
				return True
			case 'F':
				return False
			}
		}
		return d.tri(i)
	}
	if parsed(x.ts) && r.schema.Fields[x.ts].Type == TypeTime {
		c.TS = time.Unix(0, int64(num[x.ts])).UTC()
	} else {
		c.TS = d.time(x.ts, true)
	}
	c.UID = str(x.uid)
	if parsed(x.oh) && parsed(x.rh) && r.schema.Fields[x.oh].Type == TypeAddr && r.schema.Fields[x.rh].Type == TypeAddr {
		c.Orig, c.Resp = r.addr[x.oh], r.addr[x.rh]
	} else {
		c.Orig, c.Resp = d.addr(x.oh, true), d.addr(x.rh, true)
	}
	if count(x.op) && count(x.rp) && num[x.op] <= 65535 && num[x.rp] <= 65535 {
		c.OrigP, c.RespP = uint16(num[x.op]), uint16(num[x.rp])
	} else {
		c.OrigP, c.RespP = d.port(x.op), d.port(x.rp)
	}
	c.Proto, c.Service = str(x.proto), str(x.service)
	if t := TypeUnknown; parsed(x.duration) {
		t = r.schema.Fields[x.duration].Type
		if f := math.Float64frombits(num[x.duration]); (t == TypeInterval || t == TypeDouble) && math.Abs(f) <= 1e9 {
			c.Duration, c.HasDuration = time.Duration(f*1e9), true
		} else {
			c.Duration, c.HasDuration = d.dur(x.duration)
		}
	} else {
		c.Duration, c.HasDuration = d.dur(x.duration)
	}
	if count(x.ob) && count(x.rb) {
		c.OrigBytes, c.RespBytes, c.HasOrigBytes, c.HasRespBytes = num[x.ob], num[x.rb], true, true
	} else {
		c.OrigBytes, c.RespBytes = d.uint(x.ob), d.uint(x.rb)
		c.HasOrigBytes, c.HasRespBytes = !r.IsUnset(x.ob), !r.IsUnset(x.rb)
	}
	c.ConnState = str(x.state)
	c.LocalOrig, c.LocalResp = tri(x.lo), tri(x.lr)
	// (in the decoder's order: the first bad field is the one reported)
	if count(x.missed) {
		c.MissedBytes = num[x.missed]
	} else {
		c.MissedBytes = d.uint(x.missed)
	}
	c.History = str(x.history)
	if count(x.op2) && count(x.oipb) && count(x.rp2) && count(x.ripb) {
		c.OrigPkts, c.OrigIPBytes = num[x.op2], num[x.oipb]
		c.RespPkts, c.RespIPBytes = num[x.rp2], num[x.ripb]
		c.HasOrigPkts, c.HasOrigIPBytes, c.HasRespPkts, c.HasRespIPBytes = true, true, true, true
	} else {
		c.OrigPkts, c.OrigIPBytes = d.uint(x.op2), d.uint(x.oipb)
		c.RespPkts, c.RespIPBytes = d.uint(x.rp2), d.uint(x.ripb)
		c.HasOrigPkts, c.HasOrigIPBytes = !r.IsUnset(x.op2), !r.IsUnset(x.oipb)
		c.HasRespPkts, c.HasRespIPBytes = !r.IsUnset(x.rp2), !r.IsUnset(x.ripb)
	}
	c.CommunityID = str(x.cid)
	c.Label, c.DetailedLabel = str(x.label), str(x.dlabel)
	return d.done()
}

// MaxAnswers is how many of a dns row's answers DNS.Answers holds. A DNS
// message of 64 KiB holds at most a few thousand records, and real
// dns.log rows a handful; a hostile row of half a million one-byte answers
// (a 1 MiB line) took 12 MB of slices, which zeekreader.Batch copied for
// each of up to 256 rows: 100 such rows took 7 GB (score, resident).
const MaxAnswers = 1024

// DecodeDNS fills q from a dns.log record.
func DecodeDNS(r *Record, q *DNS) error {
	x := r.schema.dnsView()
	d := decoder{r: r}
	q.TS = d.time(x.ts, true)
	q.UID = r.Bytes(x.uid)
	q.Orig, q.Resp = d.addr(x.oh, true), d.addr(x.rh, true)
	q.OrigP, q.RespP = d.port(x.op), d.port(x.rp)
	q.Proto = r.Bytes(x.proto)
	q.TransID = d.uint(x.trans)
	q.RTT, _ = d.dur(x.rtt)
	q.Query = r.Bytes(x.query)
	q.QType = d.uint(x.qtype)
	q.QTypeName = r.Bytes(x.qtypeName)
	q.RCode = d.uint(x.rcode)
	q.HasRCode = !r.IsUnset(x.rcode)
	q.RCodeName = r.Bytes(x.rcodeName)
	q.Rejected = d.tri(x.rejected)
	q.Answers, q.AnswersCut = r.ElemsUpTo(x.answers, q.Answers[:0], MaxAnswers)
	q.Label, q.DetailedLabel = r.Bytes(x.label), r.Bytes(x.dlabel)
	return d.done()
}

// DecodeHTTP fills h from an http.log record.
func DecodeHTTP(r *Record, h *HTTP) error {
	x := r.schema.httpView()
	d := decoder{r: r}
	h.TS = d.time(x.ts, true)
	h.UID = r.Bytes(x.uid)
	h.Orig, h.Resp = d.addr(x.oh, true), d.addr(x.rh, true)
	h.OrigP, h.RespP = d.port(x.op), d.port(x.rp)
	h.Method, h.Host, h.URI = r.Bytes(x.method), r.Bytes(x.host), r.Bytes(x.uri)
	h.Referrer, h.UserAgent = r.Bytes(x.referrer), r.Bytes(x.ua)
	h.RequestBodyLen, h.ResponseBodyLen = d.uint(x.reqLen), d.uint(x.respLen)
	h.StatusCode = d.uint(x.status)
	h.Label, h.DetailedLabel = r.Bytes(x.label), r.Bytes(x.dlabel)
	return d.done()
}

// DecodeSSL fills s from an ssl.log record.
func DecodeSSL(r *Record, s *SSL) error {
	x := r.schema.sslView()
	d := decoder{r: r}
	s.TS = d.time(x.ts, true)
	s.UID = r.Bytes(x.uid)
	s.Orig, s.Resp = d.addr(x.oh, true), d.addr(x.rh, true)
	s.OrigP, s.RespP = d.port(x.op), d.port(x.rp)
	s.Version, s.ServerName = r.Bytes(x.version), r.Bytes(x.sni)
	s.Established = d.tri(x.established)
	s.JA3, s.JA3S = r.Bytes(x.ja3), r.Bytes(x.ja3s)
	s.Label, s.DetailedLabel = r.Bytes(x.label), r.Bytes(x.dlabel)
	return d.done()
}
