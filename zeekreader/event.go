package zeekreader

import (
	"errors"
	"io"
	"strings"
	"time"
)

// Kind is the log an event came from, for the logs detectors consume.
type Kind uint8

const (
	KindOther Kind = iota
	KindConn
	KindDNS
	KindHTTP
	KindSSL
)

func (k Kind) String() string {
	switch k {
	case KindConn:
		return "conn"
	case KindDNS:
		return "dns"
	case KindHTTP:
		return "http"
	case KindSSL:
		return "ssl"
	}
	return "other"
}

// KindOf maps a log path to its Kind. Zeek's open-connections package writes
// open_conn.log rows of connections still open: they are conn rows too.
func KindOf(path string) Kind {
	switch path {
	case "conn", "open_conn", "conn_red", "conn_long":
		return KindConn
	case "dns":
		return KindDNS
	case "http", "open_http":
		return KindHTTP
	case "ssl", "open_ssl":
		return KindSSL
	}
	return KindOther
}

// Event is one decoded row: exactly one of Conn, DNS, HTTP, SSL is set for
// those kinds; KindOther rows carry only the Record. Valid until the next
// call to Next on its source.
type Event struct {
	Kind   Kind
	TS     time.Time
	Record *Record
	Conn   *Conn
	DNS    *DNS
	HTTP   *HTTP
	SSL    *SSL
	// Open marks rows of connections still open (open_conn.log).
	Open bool
}

// Source yields events. Next returns io.EOF at the end; errors for which
// Skippable is true (a bad row, a file that ended early) leave the source
// usable.
type Source interface {
	Next() (*Event, error)
}

// FileError is a file that stopped early (truncated gzip, I/O error) inside a
// multi-file source: the other files go on.
type FileError struct {
	File string
	Err  error
}

func (e *FileError) Error() string { return e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// Skippable reports whether err leaves a Source usable (call Next again).
func Skippable(err error) bool {
	var fe *FileError
	return IsRowError(err) || errors.As(err, &fe)
}

// EventReader decodes a Reader's records into typed events.
type EventReader struct {
	r    *Reader
	ev   Event
	conn Conn
	dns  DNS
	http HTTP
	ssl  SSL
	// Only decodes these kinds; others are skipped unless All is set.
	want [KindSSL + 1]bool
	All  bool

	path string // the log path kind and open were worked out for
	kind Kind
	open bool
}

// NewEventReader decodes the given kinds (all four when none are given).
func NewEventReader(r *Reader, kinds ...Kind) *EventReader {
	e := &EventReader{r: r}
	if len(kinds) == 0 {
		kinds = []Kind{KindConn, KindDNS, KindHTTP, KindSSL}
	}
	for _, k := range kinds {
		e.want[k] = true
	}
	return e
}

// Reader is the underlying reader.
func (e *EventReader) Reader() *Reader { return e.r }

// Next returns the next event of a wanted kind.
func (e *EventReader) Next() (*Event, error) {
	for {
		rec, err := e.r.Next()
		if err != nil {
			return nil, err
		}
		if p := rec.Path(); p != e.path { // worked out once per log path
			e.path, e.kind, e.open = p, KindOf(p), strings.HasPrefix(p, "open_")
		}
		k := e.kind
		if !e.want[k] && !e.All {
			continue
		}
		ev := &e.ev
		*ev = Event{Kind: k, Record: rec, Open: e.open}
		switch k {
		case KindConn:
			err = DecodeConn(rec, &e.conn)
			ev.Conn, ev.TS = &e.conn, e.conn.TS
		case KindDNS:
			err = DecodeDNS(rec, &e.dns)
			ev.DNS, ev.TS = &e.dns, e.dns.TS
		case KindHTTP:
			err = DecodeHTTP(rec, &e.http)
			ev.HTTP, ev.TS = &e.http, e.http.TS
		case KindSSL:
			err = DecodeSSL(rec, &e.ssl)
			ev.SSL, ev.TS = &e.ssl, e.ssl.TS
		default:
			if i := rec.Schema().Index("ts"); i >= 0 {
				ev.TS, _ = rec.Time(i)
			}
		}
		if err != nil {
			e.r.stats.Errors++
			e.r.stats.Rows--
			return nil, err
		}
		return ev, nil
	}
}

// Close closes the underlying reader.
func (e *EventReader) Close() error { return e.r.Close() }

// fileErr wraps a file's stream-ending error as a FileError (io.EOF and nil pass through).
func fileErr(file string, err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	return &FileError{File: file, Err: err}
}
