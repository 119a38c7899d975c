package zeekreader

import (
	"encoding/binary"
	"strconv"
	"strings"
)

// Type is a Zeek log field type.
type Type uint8

// The Zeek types a log column can carry. Container types (set, vector and
// Bro 2.x table) carry their element type in Field.Elem.
const (
	TypeUnknown Type = iota // JSON values and unrecognised type names: inferred on access
	TypeString
	TypeBool
	TypeCount
	TypeInt
	TypeDouble
	TypeTime
	TypeInterval
	TypeAddr
	TypeSubnet
	TypePort
	TypeEnum
	TypePattern
	TypeSet
	TypeVector
	TypeTable
)

var typeNames = map[string]Type{
	"string": TypeString, "bool": TypeBool, "count": TypeCount, "counter": TypeCount,
	"int": TypeInt, "double": TypeDouble, "time": TypeTime, "interval": TypeInterval,
	"addr": TypeAddr, "subnet": TypeSubnet, "port": TypePort, "enum": TypeEnum,
	"pattern": TypePattern, "func": TypeString, "file": TypeString, "any": TypeString,
	"int64": TypeInt, // seen in the wild (RITA's has_unknown_field test)
}

// ParseType parses a #types entry such as "count", "set[string]" or
// "vector[interval]". Unknown names give TypeUnknown, never an error: an
// unknown column must not make a log unreadable.
func ParseType(s string) (t, elem Type) {
	if i := strings.IndexByte(s, '['); i > 0 && strings.HasSuffix(s, "]") {
		inner, _ := ParseType(s[i+1 : len(s)-1])
		switch s[:i] {
		case "set":
			return TypeSet, inner
		case "vector":
			return TypeVector, inner
		case "table":
			return TypeTable, inner
		}
		return TypeUnknown, TypeUnknown
	}
	return typeNames[s], TypeUnknown
}

// IsContainer reports whether values of t are separated lists.
func (t Type) IsContainer() bool { return t == TypeSet || t == TypeVector || t == TypeTable }

// Field is one column of a schema.
type Field struct {
	Name     string
	TypeName string // as written in #types ("" for JSON)
	Type     Type
	Elem     Type // element type of containers
}

// Format is the encoding of a log.
type Format uint8

const (
	FormatTSV Format = iota + 1
	FormatJSON
)

func (f Format) String() string {
	switch f {
	case FormatTSV:
		return "tsv"
	case FormatJSON:
		return "json"
	}
	return "unknown"
}

// Schema describes the records of one header block (TSV) or one JSON stream.
// A TSV log that repeats or changes its header mid-file gets a new *Schema;
// compare pointers to notice the change. A JSON schema grows as new keys
// appear and is never replaced.
type Schema struct {
	Path   string // #path, or the file name's log (JSON: a row's _path is its Record.Path)
	Format Format
	Fields []Field
	Open   string // #open, verbatim

	index  map[string]int
	tcache []Type      // Fields[i].Type, dense for the row loop
	qkeys  []quotedKey // JSON: `"name":` per column, for the key fast path
	// views caches typed-view field indices for this schema (see views.go).
	views viewCache
}

func newSchema(path string, f Format) *Schema {
	return &Schema{Path: path, Format: f, index: make(map[string]int)}
}

func (s *Schema) add(name, typeName string) int {
	t, e := ParseType(typeName)
	s.Fields = append(s.Fields, Field{Name: name, TypeName: typeName, Type: t, Elem: e})
	i := len(s.Fields) - 1
	if _, dup := s.index[name]; !dup {
		s.index[name] = i
	}
	return i
}

// Index returns the column of a field name, or -1. Names are the dotted Zeek
// names ("id.orig_h"); logs written with an underscore scope separator
// ("id_orig_h") and nested JSON objects are found by the same name.
func (s *Schema) Index(name string) int {
	if i, ok := s.index[name]; ok {
		return i
	}
	if strings.IndexByte(name, '.') >= 0 {
		if i, ok := s.index[strings.ReplaceAll(name, ".", "_")]; ok {
			return i
		}
	}
	for _, alt := range fieldAliases[name] {
		if i, ok := s.index[alt]; ok {
			return i
		}
	}
	return -1
}

// fieldAliases are the renamings users apply with Log::Filter's field_name_map
// (Zeek's own tests use these) and that other tools export.
var fieldAliases = map[string][]string{
	"id.orig_h": {"src", "src_ip", "orig_h"},
	"id.orig_p": {"src_port", "srcport", "orig_p"},
	"id.resp_h": {"dst", "dst_ip", "resp_h"},
	"id.resp_p": {"dst_port", "dstport", "resp_p"},
	// IoT-23 and later Stratosphere captures spell it with a hyphen
	"detailedlabel": {"detailed-label", "detailed_label"},
}

// types is the dense column-type list the TSV row loop walks.
func (s *Schema) types() []Type {
	if len(s.tcache) != len(s.Fields) {
		s.tcache = make([]Type, len(s.Fields))
		for i, f := range s.Fields {
			s.tcache[i] = f.Type
		}
	}
	return s.tcache
}

// quotedKey is a column's key as a JSON writer puts it before its value
// (`"name":`), with its first and last eight bytes as words, so that the key
// fast path compares a key of up to 16 bytes with two loads.
type quotedKey struct {
	s      string
	w0, m0 uint64 // first eight bytes (fewer, masked by m0, when shorter)
	w1     uint64 // last eight bytes, when longer than eight
}

func newQuotedKey(name string) quotedKey {
	k := quotedKey{s: strconv.Quote(name) + ":"}
	var b [8]byte
	n := copy(b[:], k.s)
	k.w0 = binary.LittleEndian.Uint64(b[:])
	k.m0 = ^uint64(0)
	if n < 8 {
		k.m0 = 1<<(8*n) - 1
	}
	if len(k.s) > 8 {
		k.w1 = binary.LittleEndian.Uint64([]byte(k.s[len(k.s)-8:]))
	}
	return k
}

// at reports whether b[p:] starts with the key; b has more than len(k.s)
// bytes from p. ext is b extended to its capacity: words may be read from
// it past the end of b, their excess bytes masked out.
func (k *quotedKey) at(b, ext []byte, p int) bool {
	n := len(k.s)
	if n > 16 || p+8 > len(ext) {
		return string(b[p:p+n]) == k.s
	}
	if binary.LittleEndian.Uint64(ext[p:])&k.m0 != k.w0 {
		return false
	}
	return n <= 8 || binary.LittleEndian.Uint64(b[p+n-8:]) == k.w1
}

// quotedKey is column i's key as a JSON writer puts it before its value.
func (s *Schema) quotedKey(i int) *quotedKey {
	for len(s.qkeys) < len(s.Fields) {
		s.qkeys = append(s.qkeys, newQuotedKey(s.Fields[len(s.qkeys)].Name))
	}
	return &s.qkeys[i]
}

// Names returns the field names in column order.
func (s *Schema) Names() []string {
	out := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		out[i] = f.Name
	}
	return out
}
