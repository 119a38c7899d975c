package window

import (
	"bytes"
	"sort"
)

// UIDs keeps a fixed-size sample of evidence uids without allocating:
// the UIDCap uids with the smallest hash (a bottom-k sample), so the sample
// does not depend on the order rows arrive in.
type UIDs struct {
	N int8
	H [UIDCap]uint64
	B [UIDCap][22]byte
	L [UIDCap]uint8
}

// UIDCap is how many uids a sample keeps.
const UIDCap = 5

func uidHash(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return Mix64(h)
}

// Add offers uid to the sample.
func (u *UIDs) Add(uid []byte) {
	if len(uid) == 0 {
		return
	}
	h := uidHash(uid)
	i := u.n()
	if i >= UIDCap {
		// replace the largest hash if this one is smaller
		i = 0
		for j := 1; j < UIDCap; j++ {
			if u.H[j] > u.H[i] {
				i = j
			}
		}
		if h >= u.H[i] {
			return
		}
		for j := 0; j < UIDCap; j++ {
			if u.H[j] == h && u.L[j] == uint8(min(len(uid), 22)) {
				return // already in
			}
		}
	} else {
		for j := 0; j < i; j++ {
			if u.H[j] == h {
				return
			}
		}
		u.N = int8(i + 1)
	}
	u.H[i] = h
	u.B[i] = [22]byte{} // (no bytes of a longer uid it replaced)
	u.L[i] = uint8(copy(u.B[i][:], uid))
}

// n is how many uids the sample holds, and uid i: within bounds
// whatever a damaged snapshot restored (FuzzRestore: a negative N
// crashed the first row of its key after a restart).
func (u *UIDs) n() int { return min(max(int(u.N), 0), UIDCap) }

func (u *UIDs) uid(i int) []byte { return u.B[i][:min(u.L[i], 22)] }

// Merge adds o's uids.
func (u *UIDs) Merge(o *UIDs) {
	for i := range o.n() {
		u.Add(o.uid(i))
	}
}

// Strings returns the sample, ordered by hash.
func (u *UIDs) Strings() []string {
	idx := make([]int, u.n())
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return u.H[idx[a]] < u.H[idx[b]] })
	out := make([]string, 0, len(idx))
	for _, i := range idx {
		out = append(out, string(u.uid(i)))
	}
	return out
}

// UIDSample is the live form of a UIDs sample: the same bottom-k uids in
// 102 bytes instead of UIDs' 168, for the slots that every host holds
// (UIDs stays the form snapshots carry). A uid is kept as its first
// UIDKeep bytes up to any NUL (Zeek's uids have at most 18 base-62
// characters), and its hash as the hash's top 16 bits (the whole hash is
// computed again on a tie, one in 65,536). The sample ranks uids by the hash of that
// kept form, which for every uid Zeek writes is its own, so a UIDSample
// keeps, lists and saves exactly what a UIDs given the same uids would.
type UIDSample struct {
	B    [UIDCap][UIDKeep]byte // (NUL-padded)
	N    int8
	MaxI int8           // the uid with the largest hash, once full
	Hi   [UIDCap]uint16 // the top of each uid's hash
}

// UIDKeep is how many bytes of a uid a UIDSample keeps.
const UIDKeep = 18

// kept is the form of uid a UIDSample keeps.
func kept(uid []byte) []byte {
	_, n := keptHash(uid)
	return uid[:n]
}

// keptHash is uidHash of uid's kept form, and its length, in one pass.
func keptHash(uid []byte) (uint64, int) {
	h := uint64(14695981039346656037)
	n := 0
	for _, c := range uid[:min(len(uid), UIDKeep)] {
		if c == 0 {
			break
		}
		h ^= uint64(c)
		h *= 1099511628211
		n++
	}
	return Mix64(h), n
}

// n is how many uids the sample holds, within bounds.
func (u *UIDSample) n() int { return min(max(int(u.N), 0), UIDCap) }

// uid is uid i.
func (u *UIDSample) uid(i int) []byte { return kept(u.B[i][:]) }

// Add offers uid to the sample.
func (u *UIDSample) Add(uid []byte) {
	h, k := keptHash(uid)
	if k == 0 {
		return
	}
	uid = uid[:k]
	n := u.n()
	m := min(max(int(u.MaxI), 0), UIDCap-1)
	if n >= UIDCap && !u.below(h, m) {
		return
	}
	hi := uint16(h >> 48)
	for j := range n {
		if u.Hi[j] == hi && bytes.Equal(u.uid(j), uid) {
			return // already in
		}
	}
	if n < UIDCap {
		m = n
		u.N = int8(n + 1)
	}
	u.B[m] = [UIDKeep]byte{}
	copy(u.B[m][:], uid)
	u.Hi[m] = hi
	if n >= UIDCap-1 {
		u.MaxI = int8(u.largest())
	}
}

// below reports whether hash h is below that of uid i.
func (u *UIDSample) below(h uint64, i int) bool {
	if hi := uint16(h >> 48); hi != u.Hi[i] {
		return hi < u.Hi[i]
	}
	return h < uidHash(u.uid(i))
}

// largest is the first of the full sample's uids with the largest hash.
func (u *UIDSample) largest() int {
	m := 0
	for j := 1; j < UIDCap; j++ {
		if u.Hi[j] > u.Hi[m] || u.Hi[j] == u.Hi[m] && uidHash(u.uid(j)) > uidHash(u.uid(m)) {
			m = j
		}
	}
	return m
}

// Merge adds o's uids.
func (u *UIDSample) Merge(o *UIDSample) {
	for i := range o.n() {
		u.Add(o.uid(i))
	}
}

// Strings returns the sample, ordered by hash.
func (u *UIDSample) Strings() []string {
	var w UIDs
	u.Export(&w)
	return w.Strings()
}

// Export writes the sample into w (zeroed) as a UIDs holding the same
// uids would hold them.
func (u *UIDSample) Export(w *UIDs) {
	w.N = int8(u.n())
	for i := range u.n() {
		b := u.uid(i)
		w.H[i] = uidHash(b) // (with Hi[i] on top)
		w.L[i] = uint8(copy(w.B[i][:], b))
	}
}

// Load makes u (zeroed) the sample w holds: its uids offered in turn
// (a snapshot's uids longer than UIDKeep are cut).
func (u *UIDSample) Load(w *UIDs) {
	for i := range w.n() {
		u.Add(w.uid(i))
	}
}
