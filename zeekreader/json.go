package zeekreader

import (
	"bytes"
	"fmt"
	"net/netip"
)

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func skipWS(b []byte, p int) int {
	for p < len(b) && isWS(b[p]) {
		p++
	}
	return p
}

// scanJSONString returns the index of the closing quote of a string whose
// body starts at p, and whether it contains escapes; -1 if unterminated.
// Quotes are found with a vectorised search; only a string with a backslash
// before its quote is walked byte by byte.
func scanJSONString(b []byte, p int) (int, bool) {
	q := bytes.IndexByte(b[p:], '"')
	if q < 0 {
		return -1, false
	}
	if bytes.IndexByte(b[p:p+q], '\\') < 0 {
		return p + q, false
	}
	for p < len(b) {
		switch b[p] {
		case '"':
			return p, true
		case '\\':
			p += 2
			continue
		}
		p++
	}
	return -1, true
}

// numByte marks the bytes validNumber accepts after the first.
var numByte = func() (t [256]bool) {
	for _, c := range []byte("0123456789.eE+-") {
		t[c] = true
	}
	return
}()

// literalEnd is the end of a JSON literal (number, true, false, null)
// starting at p: the next comma, closing brace or whitespace.
func literalEnd(b []byte, p int) int {
	for p < len(b) && b[p] != ',' && b[p] != '}' && !isWS(b[p]) {
		p++
	}
	return p
}

// validNumber checks the shape of a JSON number without converting it
// (accessors convert on demand).
func validNumber(v []byte) bool {
	if len(v) == 0 {
		return false
	}
	if c := v[0]; c != '-' && (c < '0' || c > '9') {
		return false
	}
	for _, c := range v[1:] {
		if (c < '0' || c > '9') && c != '.' && c != 'e' && c != 'E' && c != '+' && c != '-' {
			return false
		}
	}
	return true
}

// scanJSONComposite returns the index just past the array or object that
// starts at p (b[p] is '[' or '{'), or -1.
func scanJSONComposite(b []byte, p int) int {
	depth := 0
	for p < len(b) {
		switch b[p] {
		case '"':
			end, _ := scanJSONString(b, p+1)
			if end < 0 {
				return -1
			}
			p = end
		case '[', '{':
			depth++
		case ']', '}':
			depth--
			if depth == 0 {
				return p + 1
			}
		}
		p++
	}
	return -1
}

// parseJSON indexes one JSON object into the record: each key's value span
// goes to the key's column of the stream's schema, which grows the first
// time a key is seen. Nested objects ({"id":{"orig_h":...}}) are flattened
// to dotted names. Absent keys and nulls are unset. A row's _path, when it
// has one, is its log's path (Record.Path): a stream may hold rows of
// several logs.
func (r *Reader) parseJSON(line []byte) error {
	s := r.json
	if s == nil {
		s = newSchema(r.fallback, FormatJSON)
		r.json = s
	}
	rec := &r.rec
	rec.schema = s
	rec.grow(len(s.Fields))
	for i := range rec.flags {
		rec.flags[i] = fUnset
	}
	r.keyBuf = r.keyBuf[:0]
	r.keyPrev = -1
	p, err := r.jsonObject(line, 0, 0)
	if err != nil {
		return err
	}
	if p = skipWS(line, p); p != len(line) {
		return r.rowErr("", fmt.Errorf("%w: trailing data at byte %d", ErrBadJSON, p))
	}
	// The _path column, looked up again only when the schema grew.
	if r.pathCol < 0 && r.pathColN != len(s.Fields) {
		r.pathColN = len(s.Fields)
		if i, ok := s.index["_path"]; ok {
			r.pathCol = i
		}
	}
	if i := r.pathCol; i >= 0 && rec.flags[i]&fJSONString != 0 {
		rec.path = r.rowPath(rec.Bytes(i))
	}
	return nil
}

// maxRowPaths bounds the _path values a stream keeps as strings: a stream
// of every log has tens; past them a row's path is a new string.
const maxRowPaths = 64

// rowPath is a row's _path as a string, made once per value: the rows of
// a stream of several logs (a Corelight export, json-streaming logs
// concatenated) switch between a few.
func (r *Reader) rowPath(b []byte) string {
	for _, p := range r.paths {
		if p == bstr(b) {
			return p
		}
	}
	p := string(b)
	if len(r.paths) < maxRowPaths {
		r.paths = append(r.paths, p)
	}
	return p
}

// maxJSONDepth is how deeply objects may nest in a row. Zeek's records
// nest a few levels ({"id":{"orig_h":...}}); each level is a call of
// jsonObject, and a line of MaxLine bytes of {"":{"":{... nested about
// 200,000 deep grew the goroutine's stack to 512 MiB (830 MB resident
// for a 1 MiB line), near Go's 1 GB limit, past which the process dies.
const maxJSONDepth = 32

// jsonObject indexes the object at b[p:], nested depth objects deep
// (0: the row itself).
func (r *Reader) jsonObject(b []byte, p, depth int) (int, error) {
	if depth > maxJSONDepth {
		return 0, r.rowErr("", fmt.Errorf("%w: objects nested more than %d deep", ErrBadJSON, maxJSONDepth))
	}
	p = skipWS(b, p)
	if p >= len(b) || b[p] != '{' {
		return 0, r.rowErr("", fmt.Errorf("%w: expected '{' at byte %d", ErrBadJSON, p))
	}
	prefix := len(r.keyBuf)
	ext := b[:cap(b)]
	p++
	for first := true; ; first = false {
		p = skipWS(b, p)
		if p >= len(b) {
			return 0, r.rowErr("", fmt.Errorf("%w: unterminated object", ErrBadJSON))
		}
		if b[p] == '}' {
			return p + 1, nil
		}
		if !first {
			if b[p] != ',' {
				return 0, r.rowErr("", fmt.Errorf("%w: expected ',' at byte %d", ErrBadJSON, p))
			}
			p = skipWS(b, p+1)
		}
		if p >= len(b) || b[p] != '"' {
			return 0, r.rowErr("", fmt.Errorf("%w: expected a key at byte %d", ErrBadJSON, p))
		}
		// Fast path: the key that followed the previous one last time,
		// matched with its quotes and colon in one comparison.
		idx, key, kesc := -1, []byte(nil), false
		if prefix == 0 {
			if c, q := r.predictKey(); c >= 0 && len(b)-p > len(q.s) && q.at(b, ext, p) {
				idx, key = c, b[p+1:p+len(q.s)-2]
				r.keyPrev = c
				p += len(q.s)
			}
		}
		if idx < 0 {
			// Keys are short: a plain loop beats a vectorised search here.
			kend := p + 1
			for kend < len(b) && b[kend] != '"' {
				if b[kend] == '\\' {
					kesc = true
					kend++
				}
				kend++
			}
			if kend >= len(b) {
				return 0, r.rowErr("", fmt.Errorf("%w: unterminated key", ErrBadJSON))
			}
			key = b[p+1 : kend]
			if prefix > 0 || kesc {
				r.keyBuf = r.keyBuf[:prefix]
				if kesc {
					r.keyBuf = appendJSONUnescaped(r.keyBuf, key)
				} else {
					r.keyBuf = append(r.keyBuf, key...)
				}
				key = r.keyBuf
			}
			p = skipWS(b, kend+1)
			if p >= len(b) || b[p] != ':' {
				return 0, r.rowErr("", fmt.Errorf("%w: expected ':' at byte %d", ErrBadJSON, p))
			}
			p++
		}
		p = skipWS(b, p)
		if p >= len(b) {
			return 0, r.rowErr("", fmt.Errorf("%w: missing value", ErrBadJSON))
		}
		var vs, ve int
		var fl uint16
		var num uint64
		switch c := b[p]; {
		case c == '"':
			end, esc := scanJSONString(b, p+1)
			if end < 0 {
				return 0, r.rowErr(clipKey(key), fmt.Errorf("%w: unterminated string", ErrBadJSON))
			}
			vs, ve, fl = p+1, end, fJSONString
			if end == p+1 {
				fl |= fEmpty
			}
			if esc {
				fl |= fEscaped
			}
			p = end + 1
		case c == '{':
			// Nested record: flatten into dotted keys.
			if prefix == 0 && !kesc {
				r.keyBuf = append(r.keyBuf[:0], key...)
			}
			r.keyBuf = append(r.keyBuf, '.')
			np, err := r.jsonObject(b, p, depth+1)
			if err != nil {
				return 0, err
			}
			r.keyBuf = r.keyBuf[:prefix]
			p = np
			continue
		case c == '[':
			end := scanJSONComposite(b, p)
			if end < 0 {
				return 0, r.rowErr(clipKey(key), fmt.Errorf("%w: unterminated array", ErrBadJSON))
			}
			vs, ve, fl = p, end, fJSONArray
			if skipWS(b, p+1) < len(b) && b[skipWS(b, p+1)] == ']' {
				fl |= fEmpty
			}
			p = end
		case c == '-' || c >= '0' && c <= '9':
			// A number: its bytes by table, then what ends it (the same
			// span the generic literal scan below would take).
			q := p + 1
			for q < len(b) && numByte[b[q]] {
				q++
			}
			if q < len(b) && b[q] != ',' && b[q] != '}' && !isWS(b[q]) {
				return 0, r.rowErr(clipKey(key), fmt.Errorf("%w: bad literal %q", ErrBadJSON, clip(b[p:literalEnd(b, q)])))
			}
			vs, ve, fl = p, q, fJSONNumber
			// A count is converted here, eight digits at a time, while
			// its bytes are in cache (Uint then reads it).
			if u, ok := parseUintAt(ext, p, q); ok {
				num, fl = u, fJSONNumber|fUint
			}
			p = q
		default:
			q := literalEnd(b, p)
			v := b[p:q]
			switch bstr(v) {
			case "null":
				fl = fUnset
			case "true", "false":
				fl = fJSONBool
			default:
				if !validNumber(v) {
					return 0, r.rowErr(clipKey(key), fmt.Errorf("%w: bad literal %q", ErrBadJSON, clip(v)))
				}
				fl = fJSONNumber
			}
			vs, ve = p, q
			p = q
		}
		if idx < 0 {
			if idx = r.keyIndex(key); idx < 0 {
				if len(key) > maxJSONKey {
					return 0, r.rowErr(clipKey(key), fmt.Errorf("%w: a key of %d bytes, more than %d", ErrBadJSON, len(key), maxJSONKey))
				}
				return 0, r.rowErr(clipKey(key), fmt.Errorf("%w: a new key past %d distinct keys in the stream", ErrBadJSON, maxJSONKeys))
			}
		}
		r.rec.spans[idx] = span{uint32(vs), uint32(ve)}
		r.rec.flags[idx] = fl
		r.rec.num[idx] = num
	}
}

// growKeep extends the per-field arrays by new JSON keys, marking them unset.
func (rec *Record) growKeep(n int) {
	for len(rec.spans) < n {
		rec.spans = append(rec.spans, span{})
		rec.flags = append(rec.flags, fUnset)
		rec.num = append(rec.num, 0)
		rec.addr = append(rec.addr, netip.Addr{})
	}
}

// predictKey is the column most recently seen after the previous key, and
// its key as written by Zeek's JSON writer ("name":), or -1.
func (r *Reader) predictKey() (int, *quotedKey) {
	prev := r.keyPrev + 1
	if prev >= len(r.succ) {
		return -1, nil
	}
	c := r.succ[prev][0]
	if c < 0 {
		return -1, nil
	}
	return c, r.json.quotedKey(c)
}

// The bounds of a JSON stream's schema, which grows by every new key: at
// most maxJSONKeys distinct keys of at most maxJSONKey bytes each (the
// dotted name of a nested key included). Zeek's logs have tens of keys,
// a stream of every log a few hundred, of tens of bytes. Unbounded, rows
// of 40,000 new keys each took 6.6 GB and 37 s for 213 MB of input (every
// row also cleared the flags of every key seen before). A row with a key
// past them is a row error, and the key is not added.
const (
	maxJSONKeys = 4096
	maxJSONKey  = 1024
)

// clipKey is a key as a row error names it: at most 64 bytes (a 1 MiB
// key was named whole).
func clipKey(key []byte) string { return string(clip(key)) }

// keyIndex maps a key to its column. Rows of one writer list their keys in
// the same order, with optional keys left out, so the column that followed
// the previous key (two candidates, for a key that is sometimes absent) is
// compared first; the map is the fallback and grows the schema, up to its
// bounds: -1 for a new key past them.
func (r *Reader) keyIndex(key []byte) int {
	s := r.json
	prev := r.keyPrev + 1 // 0 at the start of a row
	if prev < len(r.succ) {
		for _, c := range r.succ[prev] {
			if c >= 0 && s.Fields[c].Name == string(key) {
				r.keyPrev = c
				return c
			}
		}
	}
	idx, ok := s.index[bstr(key)]
	if !ok {
		if len(s.Fields) >= maxJSONKeys || len(key) > maxJSONKey {
			return -1
		}
		idx = s.add(string(key), "")
		r.rec.growKeep(len(s.Fields))
	}
	for len(r.succ) <= len(s.Fields) {
		r.succ = append(r.succ, [2]int{-1, -1})
	}
	slot := &r.succ[prev]
	slot[1], slot[0] = slot[0], idx
	r.keyPrev = idx
	return idx
}
