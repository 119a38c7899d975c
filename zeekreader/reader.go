// Package zeekreader reads Zeek logs: TSV (every header directive, escapes,
// sets and vectors, headers that change mid-stream) and JSON lines (dotted or
// underscore keys, ts in epoch seconds, milliseconds or ISO-8601, a _path
// per row), plain or gzip, one row at a time with reusable buffers. It
// knows nothing of detection.
package zeekreader

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// RowError is a malformed row. It is not fatal: the row is skipped and
// counted, and the next call to Next goes on with the following line.
type RowError struct {
	File  string
	Line  int64
	Field string // the offending column, when one is to blame
	Err   error
}

func (e *RowError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s:%d: field %s: %v", displayed(e.File), e.Line, displayed(string(clip([]byte(e.Field)))), e.Err)
	}
	return fmt.Sprintf("%s:%d: %v", displayed(e.File), e.Line, e.Err)
}

// displayed is a file or field name as an error shows it: quoted, with
// Go's escapes, when it holds anything but printable text. Both come from
// the input (a file name in an archive directory, a #fields header, a
// JSON key), and 'score' printed them as they were: an escape sequence in
// one reached the terminal, and a newline in one started a line of its
// own. (Values in errors were quoted already.)
func displayed(s string) string {
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

func (e *RowError) Unwrap() error { return e.Err }

// IsRowError reports whether err is a skipped row (keep reading) rather than
// the end of the stream.
func IsRowError(err error) bool {
	var re *RowError
	return errors.As(err, &re)
}

// Errors a RowError may wrap.
var (
	ErrNoHeader    = errors.New("data row before any #fields header")
	ErrFieldCount  = errors.New("wrong number of fields")
	ErrBadValue    = errors.New("bad value")
	ErrLineTooLong = errors.New("line longer than the maximum")
	ErrBadJSON     = errors.New("malformed JSON")
	ErrBadHeader   = errors.New("malformed header")

	errBareHeader = errors.New("bare header row")
)

// Stats counts what a Reader has seen.
type Stats struct {
	Rows    int64 // rows returned
	Errors  int64 // rows skipped as malformed
	Headers int64 // header blocks (#fields lines)
	Bytes   int64 // stream bytes consumed (uncompressed)
	Disk    int64 // bytes read from the file as it is stored (compressed, for gzip; read ahead of Bytes)
	Closed  bool  // a #close line was seen (the writer finished this file)
	// Outside counts rows read but left out of an archive's merge: their
	// ts is outside its time range (WalkRange). They are in Rows.
	Outside int64
}

// Options tune a Reader. The zero value is the batch default.
type Options struct {
	// MaxLine is the longest accepted line (default DefaultMaxLine).
	MaxLine int
	// Live keeps a partial last line unread until its newline arrives, and
	// returns io.EOF at the current end so the caller may wait and retry.
	Live bool
	// Lazy skips parsing typed values at Next: they are parsed when
	// accessed, and a malformed number or address is not reported as a
	// row error. For tools that pass text through (zeekanom cut), as
	// zeek-cut does.
	Lazy bool
	// Path overrides the log path guessed from the name: a log's name,
	// taken as a file name is ("conn"; "json_streaming_conn" is conn). A
	// JSON row's _path overrides both.
	Path string
}

// Reader reads records from one stream.
type Reader struct {
	in     *lineInput
	name   string
	closer io.Closer
	stats  Stats
	lineNo int64

	// TSV header state: a header block is a state change of the parser.
	sep      byte
	setSep   byte
	empty    []byte
	unset    []byte
	path     string
	open     string
	tsv      *Schema  // schema of the current TSV block
	json     *Schema  // the JSON schema of this stream (grows)
	fallback string   // path guessed from the file name
	namePath string   // PathFromName(name)
	pathCol  int      // JSON: column of _path, or -1
	pathColN int      // len(json.Fields) when pathCol was looked up
	paths    []string // JSON: the _path values seen (rowPath)

	lazy    bool // Options.Lazy
	rec     Record
	keyBuf  []byte
	succ    [][2]int // JSON: columns seen after column i-1 (0: row start)
	keyPrev int
	lastErr RowError
}

// NewReader reads the stream r; name is used in errors and to guess the log
// path when the log does not name it. Gzip is detected by its magic bytes.
func NewReader(r io.Reader, name string, opts ...Options) *Reader {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.MaxLine <= 0 {
		o.MaxLine = DefaultMaxLine
	}
	rd := &Reader{
		in:    newLineInput(r, o.MaxLine, o.Live),
		lazy:  o.Lazy,
		name:  name,
		sep:   '\t',
		empty: []byte("(empty)"),
		unset: []byte("-"),
	}
	rd.setSep = ','
	rd.namePath = PathFromName(name)
	rd.fallback = rd.namePath
	if o.Path != "" {
		rd.fallback = PathFromName(o.Path)
	}
	rd.pathCol = -1
	rd.rec.file = name
	if c, ok := r.(io.Closer); ok {
		rd.closer = c
	}
	return rd
}

// Open opens a file for reading; Close closes it.
func Open(name string, opts ...Options) (*Reader, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	return NewReader(f, name, opts...), nil
}

// Close stops the decompressor, if any, and closes the underlying stream if
// it is an io.Closer.
func (r *Reader) Close() error {
	r.in.close()
	if r.closer != nil {
		return r.closer.Close()
	}
	return nil
}

// Name is the name given to NewReader.
func (r *Reader) Name() string { return r.name }

// Stats returns the counts so far.
func (r *Reader) Stats() Stats {
	s := r.stats
	s.Bytes = r.in.off
	s.Disk = r.in.disk.Load()
	return s
}

// add sums o's counts of rows and bytes into s.
func (s *Stats) add(o Stats) {
	s.Rows += o.Rows
	s.Errors += o.Errors
	s.Bytes += o.Bytes
	s.Disk += o.Disk
	s.Outside += o.Outside
}

// Offset is the stream offset just past the last line consumed (a line
// longer than MaxLine counts once its end is read).
func (r *Reader) Offset() int64 { return r.in.done() }

// Schema is the schema of the most recent header block or JSON stream.
func (r *Reader) Schema() *Schema {
	if r.tsv != nil {
		return r.tsv
	}
	return r.json
}

// knownPaths are the logs whose name we recognise inside file names such as
// "conn.09:00:00-10:00:00.log.gz", "NASHUA_conn.log" or "conn.json.gz".
var knownPaths = []string{"conn", "dns", "http", "ssl", "files", "x509", "notice", "weird",
	"dhcp", "smtp", "ftp", "ssh", "rdp", "smb_files", "smb_mapping", "dce_rpc", "kerberos",
	"ntlm", "ntp", "irc", "snmp", "sip", "tunnel", "quic", "dpd", "software", "pe",
	"open_conn", "open_http", "open_ssl", "conn_long", "conn_red", "capture_loss", "stats", "reporter",
	"zeekanom_feed",
	// zeekctl archives trace-summary's text report of each conn log
	// beside it (conn-summary.HH:MM:SS-HH:MM:SS.log.gz): not a log, and
	// not conn (as "conn-" names otherwise are)
	"conn-summary"}

// PathFromName guesses a log path from a file name. A copy's mark after
// a space ("dns (7).log", "conn copy.log": a second download or a file
// manager's copy) is not part of it.
func PathFromName(name string) string {
	base, _ := copyMark(filepath.Base(name))
	best := ""
	for _, p := range knownPaths {
		if base == p {
			return p
		}
		// the longest that fits: "open_conn" in NASHUA_open_conn, not "conn"
		if len(p) > len(best) && (strings.HasSuffix(base, "_"+p) || strings.HasPrefix(base, p+"_") || strings.HasPrefix(base, p+"-")) {
			best = p
		}
	}
	if best != "" {
		return best
	}
	return base
}

// copyMark returns a file name's stem (up to its first dot or space: the
// log's name as Zeek writes it) and the mark of a copy, from the name's
// first space to the dot after it (" (7)", " copy"; "" for none), which
// may follow a rotation time: "conn.10:00:00-11:00:00 (1).log.gz".
// Zeek's own names have no spaces.
func copyMark(base string) (stem, mark string) {
	stem = base
	if i := strings.IndexByte(stem, '.'); i >= 0 {
		stem = stem[:i]
	}
	if i := strings.IndexByte(stem, ' '); i >= 0 {
		stem = stem[:i]
	}
	if i := strings.IndexByte(base, ' '); i >= 0 {
		mark = base[i:]
		if j := strings.IndexByte(mark, '.'); j >= 0 {
			mark = mark[:j]
		}
	}
	return stem, mark
}

func (r *Reader) rowErr(field string, err error) *RowError {
	r.stats.Errors++
	r.lastErr = RowError{File: r.name, Line: r.lineNo, Field: field, Err: err}
	e := r.lastErr
	return &e
}

// Next returns the next record. At the end it returns io.EOF (in live mode:
// the current end; call again later). A *RowError is a malformed row that was
// skipped: log or count it and call Next again. Any other error ends the
// stream (I/O error, truncated gzip); rows before it were all returned.
func (r *Reader) Next() (*Record, error) {
	for {
		line, start, end, err := r.in.next()
		if err != nil {
			if err == errLineTooLong {
				r.lineNo++
				return nil, r.rowErr("", fmt.Errorf("%w (%d bytes)", ErrLineTooLong, r.in.maxLine))
			}
			if err == io.EOF {
				return nil, io.EOF
			}
			return nil, fmt.Errorf("%s: after line %d: %w", r.name, r.lineNo, err)
		}
		r.lineNo++
		if len(line) == 0 {
			continue
		}
		rec := &r.rec
		rec.lineNo, rec.start, rec.end, rec.line = r.lineNo, start, end, line
		rec.arena, rec.path = rec.arena[:0], ""
		if line[0] == ' ' || line[0] == '\t' {
			// A header indented by stray whitespace is still a header.
			if t := bytes.TrimLeft(line, " \t"); len(t) > 0 && t[0] == '#' {
				line = t
			}
		}
		switch line[0] {
		case '#':
			if err := r.directive(line); err != nil {
				return nil, err
			}
			continue
		case '{':
			if err := r.parseJSON(line); err != nil {
				return nil, err
			}
		default:
			if err := r.parseTSV(line); err != nil {
				if err == errBareHeader {
					r.directive(append([]byte("#fields"+string(r.sep)), line...))
					continue
				}
				return nil, err
			}
		}
		r.stats.Rows++
		return rec, nil
	}
}

// --- TSV -------------------------------------------------------------------

func decodeHeaderValue(b []byte) []byte {
	if string(b) == `\t` { // "#separator \t", as some writers put it
		return []byte{'\t'}
	}
	if bytes.IndexByte(b, '\\') < 0 {
		return append([]byte(nil), b...)
	}
	return appendZeekUnescaped(nil, b)
}

func (r *Reader) directive(line []byte) error {
	if bytes.HasPrefix(line, []byte("#separator")) {
		rest := line[len("#separator"):]
		if len(rest) == 0 {
			return r.rowErr("", fmt.Errorf("%w: #separator without a value", ErrBadHeader))
		}
		first := rest[0]
		v := decodeHeaderValue(rest[1:])
		switch {
		case len(v) == 1:
			r.sep = v[0]
		case len(v) == 0 && (first == '\t' || first == ' '):
			r.sep = first // "#separator<TAB>" with nothing after: the tab itself
		default:
			return r.rowErr("", fmt.Errorf("%w: separator %q is not one byte", ErrBadHeader, v))
		}
		return nil
	}
	name, rest := line, []byte(nil)
	if i := bytes.IndexByte(line, r.sep); i >= 0 {
		name, rest = line[:i], line[i+1:]
	} else if i := bytes.IndexByte(line, ' '); i >= 0 {
		name, rest = line[:i], line[i+1:]
	}
	switch string(name) {
	case "#set_separator":
		v := decodeHeaderValue(rest)
		if len(v) != 1 {
			return r.rowErr("", fmt.Errorf("%w: set separator %q is not one byte", ErrBadHeader, v))
		}
		r.setSep = v[0]
	case "#empty_field":
		r.empty = decodeHeaderValue(rest)
	case "#unset_field":
		r.unset = decodeHeaderValue(rest)
	case "#path":
		r.path = string(decodeHeaderValue(rest))
	case "#open":
		r.open = string(rest)
		r.stats.Closed = false
	case "#close":
		r.stats.Closed = true
	case "#fields":
		r.stats.Headers++
		path := r.path
		if path == "" {
			path = r.fallback
		}
		s := newSchema(path, FormatTSV)
		s.Open = r.open
		for _, f := range bytes.Split(rest, []byte{r.sep}) {
			s.add(string(decodeHeaderValue(f)), "")
		}
		r.setTSVSchema(s)
	case "#types":
		s := r.tsv
		if s == nil {
			return r.rowErr("", fmt.Errorf("%w: #types before #fields", ErrBadHeader))
		}
		types := bytes.Split(rest, []byte{r.sep})
		if len(types) != len(s.Fields) {
			return r.rowErr("", fmt.Errorf("%w: #types has %d entries, #fields %d", ErrBadHeader, len(types), len(s.Fields)))
		}
		ns := newSchema(s.Path, FormatTSV)
		ns.Open = s.Open
		for i, t := range types {
			ns.add(s.Fields[i].Name, string(t))
		}
		r.setTSVSchema(ns)
	default:
		// Unknown directives and comments are ignored, as Zeek's reader does.
	}
	return nil
}

// setTSVSchema installs s, reusing the previous schema when a repeated
// header block declares exactly the same columns (concatenated logs), so
// consumers' cached views stay valid.
func (r *Reader) setTSVSchema(s *Schema) {
	if old := r.tsv; old != nil && old.Path == s.Path && len(old.Fields) == len(s.Fields) {
		same := true
		for i := range s.Fields {
			if old.Fields[i] != s.Fields[i] {
				same = false
				break
			}
		}
		if same {
			return
		}
	}
	r.tsv = s
}

// looksLikeBareHeader recognises a header row written without "#fields"
// ("ts<TAB>uid<TAB>..."), as some Zeek test baselines have: two or more
// separated identifiers, before any schema.
func looksLikeBareHeader(line []byte, sep byte) bool {
	n := 0
	for _, tok := range bytes.Split(line, []byte{sep}) {
		if len(tok) == 0 || !(tok[0] == '_' || tok[0] >= 'a' && tok[0] <= 'z' || tok[0] >= 'A' && tok[0] <= 'Z') {
			return false
		}
		for _, c := range tok {
			if !(c == '.' || c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return false
			}
		}
		n++
	}
	return n >= 2
}

func (r *Reader) parseTSV(line []byte) error {
	s := r.tsv
	if s == nil {
		if looksLikeBareHeader(line, r.sep) {
			// Taken as #fields with types inferred on access.
			return errBareHeader
		}
		return r.rowErr("", ErrNoHeader)
	}
	rec := &r.rec
	rec.schema = s
	rec.setSep = r.setSep
	n := len(s.Fields)
	rec.grow(n)
	// Only fields holding a backslash need unescaping later; most rows
	// have none, which one vectorised search tells.
	escaped := bytes.IndexByte(line, '\\') >= 0
	unset, empty := r.unset, r.empty
	// Zeek's markers are "-" and "(empty)": compare by length first, and
	// the one-byte unset marker by its byte.
	oneByteUnset := len(unset) == 1
	var ub byte
	if oneByteUnset {
		ub = unset[0]
	}
	types := s.types()[:n]
	spans, flags, num, addr := rec.spans[:n], rec.flags[:n], rec.num[:n], rec.addr[:n]
	lazy := r.lazy
	// Field boundaries first, eight bytes at a time (SWAR: the separator
	// bytes of a word become set high bits, exactly, without the borrow
	// false positives of the simpler has-zero trick). A row with too many
	// fields does not index past the schema. (Searching each field's end
	// from its start, fused with the typing below, measured slower: each
	// search waits for the previous one.)
	sep := r.sep
	sepMask := swarLo * uint64(sep)
	i, start := 0, 0
	p := 0
	for ; p+8 <= len(line); p += 8 {
		x := binary.LittleEndian.Uint64(line[p:]) ^ sepMask
		m := ^(((x & swarLow7) + swarLow7) | x) & swarHi
		for m != 0 {
			q := p + bits.TrailingZeros64(m)>>3
			if i < n {
				spans[i] = span{uint32(start), uint32(q)}
			}
			i++
			start = q + 1
			m &= m - 1
		}
	}
	for ; p < len(line); p++ {
		if line[p] == sep {
			if i < n {
				spans[i] = span{uint32(start), uint32(p)}
			}
			i++
			start = p + 1
		}
	}
	if i < n {
		spans[i] = span{uint32(start), uint32(len(line))}
	}
	i++
	if i == n+1 && start == len(line) {
		i = n // a trailing separator (an empty extra column), as RITA's agent logs have
	}
	if i != n {
		return r.rowErr("", fmt.Errorf("%w: %d, header declares %d", ErrFieldCount, i, n))
	}
	// Typed values are converted from the read buffer, which extends
	// past the line: the eight-digit parsers may load words from there.
	ext := line[:cap(line)]
	for k := 0; k < n; k++ {
		sp := spans[k]
		fs, q := int(sp.s), int(sp.e)
		v := line[fs:q]
		switch {
		case len(v) == len(unset) && (oneByteUnset && v[0] == ub || !oneByteUnset && bytes.Equal(v, unset)):
			flags[k] = fUnset
			continue
		case len(v) == len(empty) && bytes.Equal(v, empty):
			flags[k] = fEmpty
			continue
		}
		var fl uint16
		if escaped && bytes.IndexByte(v, '\\') >= 0 {
			fl = fEscaped
		}
		if lazy {
			flags[k] = fl
			continue
		}
		var ok = true
		switch types[k] {
		case TypeCount, TypePort:
			num[k], ok = parseUintAt(ext, fs, q)
			fl |= fParsed | fUint
		case TypeInt:
			var x int64
			x, ok = parseInt(v)
			num[k], fl = uint64(x), fl|fParsed
		case TypeDouble, TypeInterval:
			var x float64
			x, ok = parseFloatAt(ext, fs, q)
			num[k], fl = math.Float64bits(x), fl|fParsed
		case TypeTime:
			var ns int64
			ns, ok = epochNanosAt(ext, fs, q)
			num[k], fl = uint64(ns), fl|fParsed
		case TypeAddr:
			addr[k], ok = parseAddr(v)
			fl |= fParsed
		case TypeBool:
			ok = len(v) == 1 && (v[0] == 'T' || v[0] == 'F')
		}
		flags[k] = fl
		if !ok {
			f := &s.Fields[k]
			return r.rowErr(f.Name, fmt.Errorf("%w for %s: %q", ErrBadValue, f.TypeName, clip(v)))
		}
	}
	return nil
}

const (
	swarLo   = 0x0101010101010101
	swarLow7 = 0x7f7f7f7f7f7f7f7f
	swarHi   = 0x8080808080808080
)

func clip(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

func (rec *Record) grow(n int) {
	if cap(rec.spans) < n {
		rec.spans = make([]span, n, n+8)
		rec.flags = make([]uint16, n, n+8)
		rec.num = make([]uint64, n, n+8)
		rec.addr = make([]netip.Addr, n, n+8)
	}
	rec.spans, rec.flags, rec.num, rec.addr = rec.spans[:n], rec.flags[:n], rec.num[:n], rec.addr[:n]
}
