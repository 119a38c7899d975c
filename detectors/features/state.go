package features

import (
	"cmp"
	"encoding/binary"
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/zeekanom/zeekanom/detectors/window"
)

// The per-window state is laid out for the per-row path: a window keeps
// its host accumulators in one slice found through an open-addressing
// index, and every variable-length part of an accumulator (the distinct
// sets, the conn start times, the uids) in the window's own arenas. A
// closed window is emptied and kept for the next one, so in steady state
// a row allocates nothing, and an accumulator holds no pointers.

// hostKey is an address as a pointer-free key that keeps what netip.Addr
// equality and order distinguish (IPv4 from IPv4-mapped IPv6, the invalid
// address; zones, which Zeek addresses do not carry, are dropped).
type hostKey struct {
	hi, lo uint64 // the 16 bytes of As16, big-endian
	kind   uint8  // 0 invalid, 1 IPv4, 2 IPv6
}

func keyOf(a netip.Addr) hostKey {
	if a.Is4() {
		b := a.As4()
		return hostKey{lo: 0xffff<<32 | uint64(binary.BigEndian.Uint32(b[:])), kind: 1}
	}
	if !a.IsValid() {
		return hostKey{}
	}
	b := a.As16()
	k := hostKey{hi: binary.BigEndian.Uint64(b[:8]), lo: binary.BigEndian.Uint64(b[8:]), kind: 2}
	if a.Is4() {
		k.kind = 1
	}
	return k
}

func (k hostKey) addr() netip.Addr {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], k.hi)
	binary.BigEndian.PutUint64(b[8:], k.lo)
	switch k.kind {
	case 1:
		return netip.AddrFrom16(b).Unmap()
	case 2:
		return netip.AddrFrom16(b)
	}
	return netip.Addr{}
}

// less is netip.Addr.Less: invalid, then IPv4, then IPv6, each by bytes.
func (k hostKey) less(o hostKey) bool { return k.compare(o) < 0 }

// compare orders keys as less does, for slices.SortFunc.
func (k hostKey) compare(o hostKey) int {
	if k.kind != o.kind {
		return cmp.Compare(k.kind, o.kind)
	}
	if k.hi != o.hi {
		return cmp.Compare(k.hi, o.hi)
	}
	return cmp.Compare(k.lo, o.lo)
}

// hash is a non-zero 64-bit hash of the key, one-to-one for IPv4 (and
// the invalid address): the mixer is a bijection, so distinct IPv4
// addresses never share a hash and their distinct counts are exact.
// IPv6 addresses fold 128 bits into 64: two share a hash with
// probability 2^-64 per pair.
func (k hostKey) hash() uint64 {
	if k.kind != 2 {
		return window.Mix64(k.lo&0xffffffff | uint64(k.kind+1)<<32)
	}
	h := window.Mix64(window.Mix64(k.hi^0x9e3779b97f4a7c15) ^ k.lo)
	if h == 0 {
		h = 1
	}
	return h
}

// hashAddr is keyOf(a).hash(), without the detour for IPv4.
func hashAddr(a netip.Addr) uint64 {
	if a.Is4() {
		b := a.As4()
		return window.Mix64(uint64(binary.BigEndian.Uint32(b[:])) | 2<<32)
	}
	return keyOf(a).hash()
}

// hashPort is one-to-one (ports are exact); unhashPort inverts it.
func hashPort(p uint16) uint64 { return window.Mix64(uint64(p) | 1<<16) }

// unhashPort inverts hashPort (window.Mix64 step by step: the
// multipliers' inverses modulo 2^64, the xor-shifts undone).
func unhashPort(h uint64) uint16 {
	h = unshift(h, 31)
	h *= 0x319642b2d24d8ec3 // inverse of 0x94d049bb133111eb
	h = unshift(h, 27)
	h *= 0x96de1b173f119089 // inverse of 0xbf58476d1ce4e5b9
	h = unshift(h, 30)
	return uint16(h)
}

// unshift inverts x ^= x >> s.
func unshift(x uint64, s uint) uint64 {
	y := x
	for i := s; i < 64; i += s {
		y = x ^ y>>s
	}
	return y
}

// hashString is a fixed (process-independent, so that snapshots can keep
// the hashes) 64-bit hash of a name: each 8-byte word is folded in
// through the bijective mixer, the length seeds it. Two distinct names
// share a hash with probability about 2^-64.
func hashString[S string | []byte](s S) uint64 {
	h := window.Mix64(uint64(len(s)) ^ 0x243f6a8885a308d3)
	for len(s) >= 8 {
		w := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
		h = window.Mix64(h ^ w)
		s = s[8:]
	}
	var w uint64
	for i := 0; i < len(s); i++ {
		w |= uint64(s[i]) << (8 * i)
	}
	h = window.Mix64(h ^ w ^ 0xb7e151628aed2a6b)
	if h == 0 {
		h = 1
	}
	return h
}

// hset is an exact set of non-zero 64-bit hashes: open addressing with
// linear probing over a power-of-two run of the window's arena, at most
// three quarters full; it moves to a run twice as long when it fills (the old run
// stays unused until the window is emptied). A set of destinations
// holding one IPv4 address (addAddr) keeps it in pos, without a run
// (size 0, n 1: its hash is hashAddr of it): on a large network most
// host-windows have one destination, and a run for each was a cache line
// to clear, and to miss on at the host's next row.
type hset struct {
	pos  uint32 // start in the window's set pages; the address held inline
	size uint32 // slots; 0 before the first insert (or held inline)
	n    uint32
}

// inline reports whether s holds one IPv4 address in pos.
func (s hset) inline() bool { return s.size == 0 && s.n == 1 }

// inlineHash is the hash of the address s holds inline (hashAddr).
func (s hset) inlineHash() uint64 { return window.Mix64(uint64(s.pos) | 2<<32) }

const minSet = 8

// timeBlock is one link of a host's chain of conn start times.
type timeBlock struct {
	t    [15]float64
	prev int32 // index+1 of the block before, 0 at the first
}

// hostAcc is one host's accumulator in one window; its variable-length
// parts live in the window (pointer-free). 128 bytes, two cache lines,
// and a conn row updates nothing else: the key, counts and sums in the
// first; the destinations, the inline ports and times and the ends of
// the time and uid chains in the second. What a host-window with conn
// rows only never sets (dns, http and ssl, the ports past the inline
// ones, a class) is in its side record: on a large network most
// host-windows are a conn row or two, and at 256 bytes they were the
// largest part of the iforest's memory. The chains are kept by their
// last link, which points back (a head besides would not fit; they are
// read only when a window closes or is saved).
type hostAcc struct {
	hi, lo uint64 // the host (hostKey, flattened to share its padding)
	kind   uint8
	// flags: accMal (here, not in the side record: a Labeler is asked
	// every row until it is set), accOut and accIn (a conn row gave
	// orig_bytes, resp_bytes: Vector.Unlogged)
	flags  uint8
	nPorts uint8 // ports held inline, or portsMoved
	nUIDs  uint8
	nTimes int32
	// rows and conns, failed, udp count rows (whole numbers, as float64
	// sums of 1 before: float64 of them is what the sums were); rows
	// stops at math.MaxUint32 (accEnd), so none of them wraps
	rows, conns, failed, udp uint32
	out, in, dur             float64
	ips                      hset
	portsInl                 [inlinePorts]uint16
	tTail                    int32 // index+1 into winState.times; the chain runs back
	// the first conn start times: most host-windows of a large network
	// have a row or two, and a block of the window's times for each was
	// 128 bytes (interval features measure 3 times or more)
	tInl  [inlineTimes]float64
	uTail int32 // offset+1 into winState.uids; the chain runs back
	side  int32 // index+1 into winState.sides; 0 until first needed
}

// sideAcc is the part of a host's accumulator that a host-window with
// conn rows only, and at most inlinePorts ports, never sets: taken from
// the window's sides at the host's first dns, http or ssl row, ninth
// port or malicious label (winState.side). Until then its values are
// zero (winState.sideOf).
type sideAcc struct {
	dns, nx, http, ssl    uint32 // row counts, as hostAcc.conns
	ent, qlen             float64
	domains, hhosts, snis hset
	ports                 hset  // once there are more than inlinePorts
	class                 int32 // index+1 into winState.classes
}

// hostAcc.flags
const (
	accMal uint8 = 1 << iota // a row is labelled malicious
	accOut                   // a conn row gave orig_bytes
	accIn                    // a conn row gave resp_bytes
)

func (a *hostAcc) mal() bool { return a.flags&accMal != 0 }

// unlogged is the byte counts a's conn rows, if any, all left out.
func (a *hostAcc) unlogged() Unlogged {
	var u Unlogged
	if a.conns > 0 && a.flags&accOut == 0 {
		u |= UnloggedOut
	}
	if a.conns > 0 && a.flags&accIn == 0 {
		u |= UnloggedIn
	}
	return u
}

// inlineTimes conn start times are kept in the accumulator itself; the
// rest go to the window's blocks.
const inlineTimes = 3

// inlinePorts distinct ports are kept in the accumulator itself (most
// host-windows use a few); past them the ports move to a set.
const inlinePorts = 8

// portsMoved in hostAcc.nPorts says the ports are in the side record's
// set, not inline.
const portsMoved = inlinePorts + 1

func (a *hostAcc) key() hostKey { return hostKey{hi: a.hi, lo: a.lo, kind: a.kind} }

// hostRef is an accumulator's key beside its index in winState.accs.
type hostRef struct {
	k hostKey
	i int32
}

// hostOrder appends the accumulators with at least build rows to dst in
// key order; below is how many others have at least lo rows, counted in
// the same pass (a window of 100,000 hosts spreads its accumulators over
// 25 MB).
func (w *winState) hostOrder(dst []hostRef, build, lo int) (_ []hostRef, below int) {
	v4 := true // every key built is IPv4 or the invalid address
	for i := range w.accs {
		if a := &w.accs[i]; int(a.rows) >= build {
			dst = append(dst, hostRef{a.key(), int32(i)})
			v4 = v4 && a.hi == 0 && (a.kind == 1 && a.lo>>32 == 0xffff || a.kind == 0 && a.lo == 0)
		} else if int(a.rows) >= lo {
			below++
		}
	}
	if !v4 || len(dst) >= 1<<31 {
		slices.SortFunc(dst, func(a, b hostRef) int { return a.k.compare(b.k) })
		return dst, below
	}
	// IPv4 keys sort as one word each (kind, address, index): a window of
	// 100,000 hosts sorted its 32-byte refs by compare in 20 ms
	packed := make([]uint64, len(dst), 2*len(dst))
	for j, r := range dst {
		packed[j] = uint64(r.k.kind)<<63 | (r.k.lo&0xffffffff)<<31 | uint64(r.i)
	}
	packed = sortKeys(packed, packed[len(packed):cap(packed)])
	for j, p := range packed {
		k := hostKey{}
		if p>>63 == 1 {
			k = hostKey{lo: 0xffff<<32 | p>>31&0xffffffff, kind: 1}
		}
		dst[j] = hostRef{k, int32(p & (1<<31 - 1))}
	}
	return dst, below
}

// sortKeys sorts hostOrder's packed words by their top 33 bits (kind and
// address; a window holds a host once, so no two share them) in three
// passes of an 11-bit radix, through tmp (as long as a), and returns the
// sorted words (in a or tmp); a short a is sorted in place. A window of
// 100,000 hosts took 10 ms in slices.Sort.
func sortKeys(a, tmp []uint64) []uint64 {
	if len(a) < 4096 {
		slices.Sort(a)
		return a
	}
	const bits = 11
	src, dst := a, tmp[:len(a)]
	for shift := uint(31); shift < 64; shift += bits {
		var at [1 << bits]int
		for _, v := range src {
			at[v>>shift&(1<<bits-1)]++
		}
		sum := 0
		for d, n := range at {
			at[d], sum = sum, sum+n
		}
		for _, v := range src {
			d := v >> shift & (1<<bits - 1)
			dst[at[d]] = v
			at[d]++
		}
		src, dst = dst, src
	}
	return src
}

// paged is an arena of fixed-size pages that never move: a run handed
// out stays where it is while later ones are added, so the arena grows
// without copying, and emptying it keeps the pages for the next window.
type paged[T any] struct {
	pages [][]T
	shift uint // page length is 1 << shift
	n     int  // pages in use
	used  int  // elements used in the last page in use
}

// clone is a deep copy of the pages in use.
func (p *paged[T]) clone() paged[T] {
	c := *p
	c.pages = make([][]T, len(p.pages))
	for i := range p.pages[:p.n] {
		c.pages[i] = slices.Clone(p.pages[i])
	}
	return c
}

// alloc hands out k (at most the page length) contiguous zeroed elements
// and returns their position.
func (p *paged[T]) alloc(k int) uint32 {
	if p.n == 0 || p.used+k > 1<<p.shift {
		if p.n == len(p.pages) {
			pg := make([]T, 1<<p.shift)
			window.HugePages(pg)
			p.pages = append(p.pages, pg)
		}
		p.n++
		p.used = 0
	}
	s := p.pages[p.n-1][p.used : p.used+k]
	clear(s)
	pos := uint32(p.n-1)<<p.shift | uint32(p.used)
	p.used += k
	return pos
}

// at is the run of k elements at pos.
func (p *paged[T]) at(pos uint32, k int) []T {
	off := int(pos & (1<<p.shift - 1))
	return p.pages[pos>>p.shift][off : off+k]
}

// elem is the element at pos (a run of one).
func (p *paged[T]) elem(pos uint32) *T { return &p.pages[pos>>p.shift][pos&(1<<p.shift-1)] }

func (p *paged[T]) reset() { p.n, p.used = 0, 0 }

// winState is one open window's state.
type winState struct {
	start, end time.Time
	accs       []hostAcc
	index      []uint64 // uint32(hash)<<32 | acc+1; 0 empty; at most half full
	sets       paged[uint64]
	times      paged[timeBlock]
	uids       paged[byte] // per uid: the one before (4 bytes, position+1), length (2), bytes
	sides      paged[sideAcc]
	classes    []string
	// first and last are the ts (Unix ns) of the window's first and last
	// row by ts among those in it (not the conn rows reassigned to it);
	// first > last: none. unobserved is what the input did not cover of
	// the window, set when it closes (Extractor.observed).
	first, last int64
	unobserved  time.Duration
}

// saw notes a row at ts, if it is in w (a conn row reassigned to the
// window of its end is not).
func (w *winState) saw(ts time.Time) {
	if ts.Before(w.start) || !ts.Before(w.end) {
		return
	}
	n := ts.UnixNano()
	w.first, w.last = min(w.first, n), max(w.last, n)
}

// clone is a deep copy of w, for a snapshot encoded while w goes on.
func (w *winState) clone() *winState {
	c := *w
	c.accs, c.index, c.classes = slices.Clone(w.accs), slices.Clone(w.index), slices.Clone(w.classes)
	c.sets, c.times, c.uids, c.sides = w.sets.clone(), w.times.clone(), w.uids.clone(), w.sides.clone()
	return &c
}

// maxUIDLen bounds a uid's length (Zeek's are about 18 bytes).
const maxUIDLen = 4096

func newWinState(maxDistinct int) *winState {
	w := &winState{}
	w.sets.shift = 13
	for 1<<w.sets.shift < setSize(maxDistinct) {
		w.sets.shift++
	}
	w.times.shift = 9
	w.uids.shift = 16
	w.sides.shift = 9
	return w
}

// reserve sizes an empty w for n hosts: the accumulators and an index
// that need not grow before.
func (w *winState) reserve(n int) {
	if n == 0 {
		return
	}
	w.accs = make([]hostAcc, 0, n)
	window.HugePages(w.accs[:n])
	size := 64
	for 2*n > size {
		size *= 2
	}
	w.index = make([]uint64, size)
	window.HugePages(w.index)
}

// setSize is the size a set of n hashes needs (at most 3/4 full).
func setSize(n int) int {
	s := minSet
	for 4*n > 3*s {
		s *= 2
	}
	return s
}

// reset empties w for reuse, keeping its storage.
func (w *winState) reset(start, end time.Time) {
	w.start, w.end = start, end
	w.first, w.last, w.unobserved = math.MaxInt64, math.MinInt64, 0
	w.accs = w.accs[:0]
	clear(w.index)
	w.sets.reset()
	w.times.reset()
	w.uids.reset()
	w.sides.reset()
	clear(w.classes)
	w.classes = w.classes[:0]
}

// find returns the accumulator of k, creating it unless the window holds
// max hosts already (then nil).
func (w *winState) find(k hostKey, max int) *hostAcc {
	if w.index == nil {
		w.index = make([]uint64, 64)
	}
	h := uint32(k.hash())
	mask := uint32(len(w.index) - 1)
	i := h & mask
	for {
		s := w.index[i]
		if s == 0 {
			break
		}
		if uint32(s>>32) == h {
			if a := &w.accs[uint32(s)-1]; a.lo == k.lo && a.hi == k.hi && a.kind == k.kind {
				return a
			}
		}
		i = (i + 1) & mask
	}
	if len(w.accs) >= max {
		return nil
	}
	w.accs = append(w.accs, hostAcc{hi: k.hi, lo: k.lo, kind: k.kind})
	w.index[i] = uint64(h)<<32 | uint64(len(w.accs))
	if 2*len(w.accs) > len(w.index) {
		w.regrow()
	}
	return &w.accs[len(w.accs)-1]
}

// regrow doubles the index.
func (w *winState) regrow() {
	w.index = make([]uint64, 2*len(w.index))
	window.HugePages(w.index)
	mask := uint32(len(w.index) - 1)
	for j := range w.accs {
		h := uint32(w.accs[j].key().hash())
		i := h & mask
		for w.index[i] != 0 {
			i = (i + 1) & mask
		}
		w.index[i] = uint64(h)<<32 | uint64(j+1)
	}
}

// add inserts hash h (non-zero) into s; it reports false when h is new
// but s already holds max hashes (h is dropped).
func (w *winState) add(s *hset, h uint64, max int) bool {
	if s.size == 0 {
		held := *s
		s.pos, s.size = w.sets.alloc(minSet), minSet
		if held.inline() {
			// (an empty run: the address's hash takes its own slot)
			w.setSlots(*s)[held.inlineHash()&(minSet-1)] = held.inlineHash()
		}
	}
	slots := w.setSlots(*s)
	mask := uint64(s.size - 1)
	i := h & mask
	for {
		v := slots[i]
		if v == h {
			return true
		}
		if v == 0 {
			break
		}
		i = (i + 1) & mask
	}
	if int(s.n) >= max {
		return false
	}
	slots[i] = h
	s.n++
	if 4*s.n > 3*s.size {
		w.growSet(s)
	}
	return true
}

func (w *winState) growSet(s *hset) {
	old := w.setSlots(*s)
	size := 2 * s.size
	pos := w.sets.alloc(int(size))
	slots := w.sets.at(pos, int(size))
	mask := uint64(size - 1)
	for _, h := range old {
		if h == 0 {
			continue
		}
		i := h & mask
		for slots[i] != 0 {
			i = (i + 1) & mask
		}
		slots[i] = h
	}
	s.pos, s.size = pos, size
}

// addAddr adds destination a to s (as add does its hash): the first, if
// IPv4, is held in s itself.
func (w *winState) addAddr(s *hset, a netip.Addr, max int) bool {
	if a.Is4() && s.size == 0 {
		b := a.As4()
		ip := binary.BigEndian.Uint32(b[:])
		if s.n == 0 && max >= 1 {
			s.pos, s.n = ip, 1
			return true
		}
		if s.n == 1 && s.pos == ip {
			return true
		}
	}
	return w.add(s, hashAddr(a), max)
}

// setSlots is the run of s (empty slots are 0); none before the first
// insert (the window may have no set pages yet).
func (w *winState) setSlots(s hset) []uint64 {
	if s.size == 0 {
		return nil
	}
	return w.sets.at(s.pos, int(s.size))
}

// addPort adds a responder port to a's distinct ports: inline while they
// fit, else in the side record's hashed set (exact either way: hashPort is
// one-to-one). It reports false when p is new but a holds max ports
// already.
func (w *winState) addPort(a *hostAcc, p uint16, max int) bool {
	if a.nPorts == portsMoved {
		return w.add(&w.side(a).ports, hashPort(p), max)
	}
	for _, q := range a.portsInl[:a.nPorts] {
		if q == p {
			return true
		}
	}
	if int(a.nPorts) >= max {
		return false
	}
	if a.nPorts < inlinePorts {
		a.portsInl[a.nPorts] = p
		a.nPorts++
		return true
	}
	s := w.side(a)
	for _, q := range a.portsInl {
		w.add(&s.ports, hashPort(q), max)
	}
	a.nPorts = portsMoved
	return w.add(&s.ports, hashPort(p), max)
}

// distinctPorts is how many ports a holds.
func (w *winState) distinctPorts(a *hostAcc) int {
	if a.nPorts == portsMoved {
		return int(w.sideOf(a).ports.n)
	}
	return int(a.nPorts)
}

// portList is a's ports, sorted.
func (w *winState) portList(a *hostAcc) []uint16 {
	var out []uint16
	if a.nPorts != portsMoved {
		out = append(out, a.portsInl[:a.nPorts]...)
	} else {
		for _, h := range w.setSlots(w.sideOf(a).ports) {
			if h != 0 {
				out = append(out, unhashPort(h))
			}
		}
	}
	slices.Sort(out)
	return out
}

// addTime appends a conn start time to a's times: the first inlineTimes
// inline, the others to its chain.
func (w *winState) addTime(a *hostAcc, t float64) {
	if a.nTimes < inlineTimes {
		a.tInl[a.nTimes] = t
		a.nTimes++
		return
	}
	j := int((a.nTimes - inlineTimes) % int32(len(timeBlock{}.t)))
	if j == 0 {
		n := int32(w.times.alloc(1)) + 1
		w.timeBlock(n).prev = a.tTail
		a.tTail = n
	}
	w.timeBlock(a.tTail).t[j] = t
	a.nTimes++
}

func (w *winState) timeBlock(ref int32) *timeBlock { return &w.times.at(uint32(ref-1), 1)[0] }

// appendTimes appends a's times, in arrival order, to dst: the chain,
// from its last block back, fills dst's end from the back.
func (w *winState) appendTimes(dst []float64, a *hostAcc) []float64 {
	dst = append(dst, a.tInl[:min(a.nTimes, inlineTimes)]...)
	left := int(a.nTimes) - inlineTimes
	if left <= 0 {
		return dst
	}
	dst = slices.Grow(dst, left)
	end := len(dst) + left
	dst = dst[:end]
	for b := a.tTail; b != 0 && left > 0; {
		tb := w.timeBlock(b)
		n := (left-1)%len(tb.t) + 1 // the last block's share; all of the others
		copy(dst[end-n:end], tb.t[:n])
		end, left = end-n, left-n
		b = tb.prev
	}
	return dst
}

// addUID appends a uid (at most maxUIDLen bytes of it) to a's list.
func (w *winState) addUID(a *hostAcc, uid []byte) {
	uid = uid[:min(len(uid), maxUIDLen)]
	pos := int32(w.uids.alloc(6+len(uid))) + 1
	r := w.uids.at(uint32(pos-1), 6+len(uid))
	binary.LittleEndian.PutUint32(r, uint32(a.uTail))
	binary.LittleEndian.PutUint16(r[4:], uint16(len(uid)))
	copy(r[6:], uid)
	a.uTail = pos
	a.nUIDs++
}

// uidList is a's uids (nil when none), in arrival order: the chain runs
// from the last back.
func (w *winState) uidList(a *hostAcc) []string {
	if a.nUIDs == 0 {
		return nil
	}
	out := make([]string, a.nUIDs)
	i := len(out)
	for p := a.uTail; p != 0 && i > 0; {
		r := w.uids.at(uint32(p-1), 6)
		n := int(binary.LittleEndian.Uint16(r[4:]))
		i--
		out[i] = string(w.uids.at(uint32(p-1)+6, n))
		p = int32(binary.LittleEndian.Uint32(r))
	}
	return out
}

// side is a's side record, taken from the window's sides at its first
// use.
func (w *winState) side(a *hostAcc) *sideAcc {
	if a.side == 0 {
		a.side = int32(w.sides.alloc(1)) + 1
	}
	return w.sides.elem(uint32(a.side - 1))
}

// sideOf is a copy of a's side record, zero when it has none.
func (w *winState) sideOf(a *hostAcc) sideAcc {
	if a.side == 0 {
		return sideAcc{}
	}
	return *w.sides.elem(uint32(a.side - 1))
}

func (w *winState) className(a *hostAcc) string {
	if c := w.sideOf(a).class; c != 0 {
		return w.classes[c-1]
	}
	return ""
}

func (w *winState) setClass(a *hostAcc, c string) {
	w.classes = append(w.classes, c)
	w.side(a).class = int32(len(w.classes))
}
