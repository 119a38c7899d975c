package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/zeekanom/zeekanom/zeekreader"
)

const cutSynopsis = `[-j] [-c|-C] [-n] [-d|-u] [-D FMT] [-F SEP] FIELDS... [--] [PATH...]

Prints the chosen columns of Zeek logs, like zeek-cut, from TSV or JSON,
plain or gzip (detected by content), from PATHs or standard input.
An argument that names an existing file or directory is a PATH, and one
with a / or ending in .log or .gz that names nothing is an error; use --
before PATHs to make that explicit. Unset fields print as "-".`

type cutOpts struct {
	json, header, allHeaders, negate, dates, utc bool
	dateFmt, sep                                 string
}

func cmdCut(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("cut", cutSynopsis, stdout)
	var o cutOpts
	fs.BoolVar(&o.json, "j", false, "write JSON lines instead of TSV")
	fs.BoolVar(&o.header, "c", false, "print the first #fields/#types header (of the chosen columns)")
	fs.BoolVar(&o.allHeaders, "C", false, "print every header block")
	fs.BoolVar(&o.negate, "n", false, "print all fields except the chosen ones")
	fs.BoolVar(&o.dates, "d", false, "convert time fields to local time (ISO-8601)")
	fs.BoolVar(&o.utc, "u", false, "convert time fields to UTC (ISO-8601)")
	fs.StringVar(&o.dateFmt, "D", "", "time fields in `FMT`, as zeek-cut's -D (strftime: \"%Y-%m-%d %H:%M:%S\", or a Go layout when it has no %), in local time unless -u")
	fs.StringVar(&o.sep, "F", "\t", "output field separator")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if o.dateFmt != "" && !o.utc {
		o.dates = true // zeek-cut's -D is -d with a format; it was ignored without -d
	}
	var fields, paths []string
	rest := fs.Args()
	for i, a := range rest {
		if a == "--" {
			paths = append(paths, rest[i+1:]...)
			break
		}
		_, err := os.Stat(a)
		switch {
		case err == nil || a == "-":
			paths = append(paths, a)
		case looksLikePath(a):
			// a mistyped path was taken for a field name: cut printed
			// nothing and exited 0, or waited on a terminal's stdin
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return fmt.Errorf("%s: %w", a, err)
		default:
			fields = append(fields, a)
		}
	}
	if len(fields) == 0 && !o.negate {
		// zeek-cut with no fields prints every column.
		o.negate = true
	}
	w := bufio.NewWriterSize(stdout, 256<<10)
	defer w.Flush()
	c := &cutter{o: o, fields: fields, w: w, stderr: stderr}
	if len(paths) == 0 {
		paths = []string{"-"}
	}
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := c.cutPath(p); err != nil {
			return err
		}
	}
	if c.errors > 0 {
		fmt.Fprintf(stderr, "zeekanom cut: skipped %s\n", counted(c.errors, "malformed row"))
	}
	return nil
}

// looksLikePath reports whether a cut argument can only be a path: no Zeek
// field name has a / or ends in .log or .gz.
func looksLikePath(a string) bool {
	return strings.ContainsRune(a, '/') || strings.ContainsRune(a, filepath.Separator) ||
		strings.HasSuffix(a, ".log") || strings.HasSuffix(a, ".gz")
}

// cutReaderOptions: cut passes text through, so values are parsed only when
// asked for (-d, -j), as zeek-cut does not validate them either.
var cutReaderOptions = zeekreader.Options{Lazy: true}

type cutter struct {
	o       cutOpts
	fields  []string
	w       *bufio.Writer
	stderr  io.Writer
	schema  *zeekreader.Schema
	nfields int
	cols    []int
	names   []string
	printed bool
	errors  int64
	jbuf    []byte
	elems   [][]byte
}

func (c *cutter) cutPath(p string) error {
	var files []string
	if p == "-" {
		return c.cutReader(zeekreader.NewReader(os.Stdin, "stdin", cutReaderOptions))
	}
	if st, err := os.Stat(p); err == nil && st.IsDir() {
		a, err := zeekreader.Walk([]string{p}, zeekreader.KindConn, zeekreader.KindDNS, zeekreader.KindHTTP, zeekreader.KindSSL, zeekreader.KindOther)
		if err != nil {
			return err
		}
		files = a.Files()
	} else {
		files = []string{p}
	}
	for _, f := range files {
		r, err := zeekreader.Open(f, cutReaderOptions)
		if err != nil {
			return err
		}
		err = c.cutReader(r)
		r.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *cutter) cutReader(r *zeekreader.Reader) error {
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if zeekreader.IsRowError(err) {
				c.errors++
				if c.errors <= 10 {
					fmt.Fprintf(c.stderr, "zeekanom cut: %v\n", err)
				}
				continue
			}
			return err
		}
		if s := rec.Schema(); s != c.schema || len(s.Fields) != c.nfields {
			c.resolve(s)
		}
		if c.o.json {
			c.writeJSON(rec)
		} else {
			c.writeTSV(rec)
		}
	}
}

func (c *cutter) resolve(s *zeekreader.Schema) {
	newBlock := s != c.schema
	c.schema, c.nfields = s, len(s.Fields)
	c.cols, c.names = c.cols[:0], c.names[:0]
	if c.o.negate {
		skip := map[string]bool{}
		for _, f := range c.fields {
			skip[f] = true
		}
		for i, f := range s.Fields {
			if !skip[f.Name] {
				c.cols = append(c.cols, i)
				c.names = append(c.names, f.Name)
			}
		}
	} else {
		for _, f := range c.fields {
			c.cols = append(c.cols, s.Index(f))
			c.names = append(c.names, f)
		}
	}
	if !c.o.json && newBlock && (c.o.allHeaders || (c.o.header && !c.printed)) {
		c.printed = true
		c.w.WriteString("#fields")
		for _, n := range c.names {
			c.w.WriteString(c.o.sep)
			c.w.WriteString(n)
		}
		c.w.WriteString("\n#types")
		for _, i := range c.cols {
			c.w.WriteString(c.o.sep)
			t := "string"
			if i >= 0 && s.Fields[i].TypeName != "" {
				t = s.Fields[i].TypeName
			}
			c.w.WriteString(t)
		}
		c.w.WriteByte('\n')
	}
}

func (c *cutter) isTime(i int) bool {
	f := c.schema.Fields[i]
	return f.Type == zeekreader.TypeTime || (f.Type == zeekreader.TypeUnknown && (f.Name == "ts" || f.Name == "_write_ts"))
}

func (c *cutter) formatTime(t time.Time) string {
	if c.o.utc {
		t = t.UTC()
	} else {
		t = t.Local()
	}
	if strings.Contains(c.o.dateFmt, "%") {
		return string(appendStrftime(nil, t, c.o.dateFmt))
	}
	if c.o.dateFmt != "" {
		return t.Format(c.o.dateFmt)
	}
	return t.Format(time.RFC3339Nano)
}

// appendStrftime appends t in the strftime(3) format f, which zeek-cut's
// -D takes: "%Y-%m-%d" was taken as a Go layout and printed as it is, the
// same for every row. A directive it does not know is copied as it is.
func appendStrftime(b []byte, t time.Time, f string) []byte {
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 == len(f) {
			b = append(b, f[i])
			continue
		}
		i++
		d := f[i]
		if n, ok := strftimeNumbers[d]; ok {
			s := strconv.Itoa(n.of(t))
			for k := len(s); k < n.width; k++ {
				b = append(b, n.fill)
			}
			b = append(b, s...)
		} else if layout, ok := strftimeLayouts[d]; ok {
			b = t.AppendFormat(b, layout)
		} else if g, ok := strftimeGroups[d]; ok {
			b = appendStrftime(b, t, g)
		} else if d == 's' {
			b = strconv.AppendInt(b, t.Unix(), 10)
		} else {
			b = append(b, '%', d)
		}
	}
	return b
}

// strftimeNumbers are the numeric directives: the number, its width and
// what pads it.
var strftimeNumbers = map[byte]struct {
	of    func(time.Time) int
	width int
	fill  byte
}{
	'Y': {func(t time.Time) int { return t.Year() }, 4, '0'},
	'C': {func(t time.Time) int { return t.Year() / 100 }, 2, '0'},
	'y': {func(t time.Time) int { return t.Year() % 100 }, 2, '0'},
	'G': {func(t time.Time) int { y, _ := t.ISOWeek(); return y }, 4, '0'},
	'g': {func(t time.Time) int { y, _ := t.ISOWeek(); return y % 100 }, 2, '0'},
	'm': {func(t time.Time) int { return int(t.Month()) }, 2, '0'},
	'd': {func(t time.Time) int { return t.Day() }, 2, '0'},
	'e': {func(t time.Time) int { return t.Day() }, 2, ' '},
	'j': {func(t time.Time) int { return t.YearDay() }, 3, '0'},
	'H': {func(t time.Time) int { return t.Hour() }, 2, '0'},
	'k': {func(t time.Time) int { return t.Hour() }, 2, ' '},
	'I': {func(t time.Time) int { return (t.Hour()+11)%12 + 1 }, 2, '0'},
	'l': {func(t time.Time) int { return (t.Hour()+11)%12 + 1 }, 2, ' '},
	'M': {func(t time.Time) int { return t.Minute() }, 2, '0'},
	'S': {func(t time.Time) int { return t.Second() }, 2, '0'},
	'u': {func(t time.Time) int { return (int(t.Weekday())+6)%7 + 1 }, 1, '0'},
	'w': {func(t time.Time) int { return int(t.Weekday()) }, 1, '0'},
	'U': {func(t time.Time) int { return (t.YearDay() + 6 - int(t.Weekday())) / 7 }, 2, '0'},
	'W': {func(t time.Time) int { return (t.YearDay() + 6 - (int(t.Weekday())+6)%7) / 7 }, 2, '0'},
	'V': {func(t time.Time) int { _, w := t.ISOWeek(); return w }, 2, '0'},
}

// strftimeLayouts are the directives Go's layouts write.
var strftimeLayouts = map[byte]string{
	'p': "PM", 'a': "Mon", 'A': "Monday", 'b': "Jan", 'h': "Jan", 'B': "January",
	'z': "-0700", 'Z': "MST", 'n': "\n", 't': "\t", '%': "%",
}

// strftimeGroups are the directives that stand for several.
var strftimeGroups = map[byte]string{
	'F': "%Y-%m-%d", 'T': "%H:%M:%S", 'R': "%H:%M", 'D': "%m/%d/%y", 'x': "%m/%d/%y",
	'X': "%H:%M:%S", 'r': "%I:%M:%S %p", 'c': "%a %b %e %H:%M:%S %Y",
}

func (c *cutter) writeTSV(rec *zeekreader.Record) {
	isJSON := rec.Schema().Format == zeekreader.FormatJSON
	for k, i := range c.cols {
		if k > 0 {
			c.w.WriteString(c.o.sep)
		}
		switch {
		case rec.IsUnset(i):
			c.w.WriteByte('-')
		case (c.o.dates || c.o.utc) && c.isTime(i):
			if t, ok := rec.Time(i); ok {
				c.w.WriteString(c.formatTime(t))
			} else {
				c.w.Write(rec.Raw(i))
			}
		case !isJSON && plainTSV(rec.Raw(i)):
			c.w.Write(rec.Raw(i)) // already in Zeek's escaped form
		case rec.IsEmpty(i):
			c.w.WriteString("(empty)")
		default:
			// JSON values are re-escaped the way Zeek's ASCII writer does,
			// so a hostile string cannot add a column or a line; so are
			// TSV values holding a tab or a control byte, which a log
			// with another #separator (or a hostile one) can hold raw.
			c.elems = rec.Elems(i, c.elems[:0])
			raw := rec.Raw(i)
			if isJSON && len(raw) > 0 && raw[0] == '[' || !isJSON && rec.Schema().Fields[i].Type.IsContainer() {
				for e, v := range c.elems {
					if e > 0 {
						c.w.WriteByte(',')
					}
					c.jbuf = AppendZeekEscaped(c.jbuf[:0], v, true)
					c.w.Write(c.jbuf)
				}
			} else {
				c.jbuf = AppendZeekEscaped(c.jbuf[:0], rec.Bytes(i), false)
				c.w.Write(c.jbuf)
			}
		}
	}
	c.w.WriteByte('\n')
}

func (c *cutter) writeJSON(rec *zeekreader.Record) {
	b := append(c.jbuf[:0], '{')
	first := true
	for k, i := range c.cols {
		if rec.IsUnset(i) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, c.names[k])
		b = append(b, ':')
		b = c.appendJSONValue(b, rec, i)
	}
	b = append(b, '}', '\n')
	c.w.Write(b)
	c.jbuf = b
}

func (c *cutter) appendJSONValue(b []byte, rec *zeekreader.Record, i int) []byte {
	f := rec.Schema().Fields[i]
	if rec.Schema().Format == zeekreader.FormatJSON {
		if (c.o.dates || c.o.utc) && c.isTime(i) {
			if t, ok := rec.Time(i); ok {
				return appendJSONString(b, c.formatTime(t))
			}
		}
		raw := rec.Raw(i)
		if len(raw) > 0 && (raw[0] == '[' || raw[0] == '{') {
			return append(b, raw...)
		}
		if !rec.IsString(i) {
			return append(b, raw...) // numbers and bools as written
		}
		return appendJSONBytes(b, rec.Bytes(i))
	}
	switch f.Type {
	case zeekreader.TypeCount, zeekreader.TypePort, zeekreader.TypeInt, zeekreader.TypeDouble, zeekreader.TypeInterval:
		return append(b, rec.Raw(i)...)
	case zeekreader.TypeTime:
		if c.o.dates || c.o.utc {
			if t, ok := rec.Time(i); ok {
				return appendJSONString(b, c.formatTime(t))
			}
		}
		return append(b, rec.Raw(i)...)
	case zeekreader.TypeBool:
		v, _ := rec.Bool(i)
		return strconv.AppendBool(b, v)
	case zeekreader.TypeSet, zeekreader.TypeVector, zeekreader.TypeTable:
		b = append(b, '[')
		c.elems = rec.Elems(i, c.elems[:0])
		numeric := false
		switch f.Elem {
		case zeekreader.TypeCount, zeekreader.TypeInt, zeekreader.TypeDouble, zeekreader.TypeInterval, zeekreader.TypePort, zeekreader.TypeTime:
			numeric = true
		}
		for e, v := range c.elems {
			if e > 0 {
				b = append(b, ',')
			}
			if _, err := strconv.ParseFloat(string(v), 64); numeric && err == nil {
				b = append(b, v...)
			} else {
				b = appendJSONBytes(b, v)
			}
		}
		return append(b, ']')
	}
	if rec.IsEmpty(i) {
		return append(b, '"', '"')
	}
	return appendJSONBytes(b, rec.Bytes(i))
}

func appendJSONString(b []byte, s string) []byte { return appendJSONBytes(b, []byte(s)) }

// appendJSONBytes appends s as a JSON string without allocating: quotes,
// backslashes and control characters escaped, invalid UTF-8 as U+FFFD.
func appendJSONBytes(b, s []byte) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// plainTSV reports whether a TSV field's raw text can be printed as it
// is: it holds no control byte (a tab would be a column of cut's output,
// and a log with another #separator, or a hostile one, holds tabs raw),
// no DEL, and no byte that is not UTF-8 or a C1 control (U+0080 to
// U+009F: to a terminal, U+009B is ESC [).
func plainTSV(raw []byte) bool {
	ascii := true
	for _, ch := range raw {
		if ch < 0x20 || ch == 0x7f {
			return false
		}
		ascii = ascii && ch < utf8.RuneSelf
	}
	return ascii || !hasC1OrInvalid(raw)
}

// hasC1OrInvalid reports whether s holds a byte that is not UTF-8 or a
// C1 control character.
func hasC1OrInvalid(s []byte) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && n == 1 || r >= 0x80 && r <= 0x9f {
			return true
		}
		i += n
	}
	return false
}

// AppendZeekEscaped escapes a value the way Zeek's ASCII writer does:
// backslash as \\, the separators and non-printable bytes as \xHH (control
// bytes, DEL, C1 controls and bytes that are not UTF-8; other UTF-8 text
// as it is). With inSet, the set separator ',' is escaped too.
func AppendZeekEscaped(b, s []byte, inSet bool) []byte {
	if string(s) == "-" || string(s) == "(empty)" {
		return append(b, fmt.Sprintf(`\x%02x`, s[0])+string(s[1:])...)
	}
	hex := func(b []byte, ch byte) []byte {
		return append(b, '\\', 'x', "0123456789abcdef"[ch>>4], "0123456789abcdef"[ch&15])
	}
	for i := 0; i < len(s); {
		ch := s[i]
		switch {
		case ch == '\\':
			b = append(b, '\\', '\\')
		case ch < 0x20 || ch == 0x7f || (inSet && ch == ','):
			b = hex(b, ch)
		case ch >= utf8.RuneSelf:
			r, n := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && n == 1 || r >= 0x80 && r <= 0x9f {
				for _, c := range s[i : i+n] {
					b = hex(b, c)
				}
			} else {
				b = append(b, s[i:i+n]...)
			}
			i += n
			continue
		default:
			b = append(b, ch)
		}
		i++
	}
	return b
}
