package zeekreader

// Batch holds copies of up to a fixed number of events, valid until
// Reset, so that a run of rows can be handed on at once: an EventReader's
// event is valid only until its next Next. The copies keep every decoded
// field (nil byte fields stay nil) but not the Record, which belongs to
// the reader.
type Batch struct {
	// Events are the copies, in the order they were added.
	Events []*Event
	evs    []Event
	conns  []Conn
	dns    []DNS
	http   []HTTP
	ssl    []SSL
	bytes  []byte   // the copied byte fields
	lists  [][]byte // the copied DNS answer lists
}

// NewBatch returns a batch of at most n events.
func NewBatch(n int) *Batch {
	n = max(n, 1)
	return &Batch{Events: make([]*Event, 0, n), evs: make([]Event, n)}
}

// Full reports whether the batch holds as many events as it can.
func (b *Batch) Full() bool { return len(b.Events) == cap(b.Events) }

// Reset empties the batch; the events it handed out become invalid.
func (b *Batch) Reset() {
	b.Events = b.Events[:0]
	b.conns, b.dns, b.http, b.ssl = b.conns[:0], b.dns[:0], b.http[:0], b.ssl[:0]
	b.bytes, b.lists = b.bytes[:0], b.lists[:0]
}

// Add copies ev into the batch, which must not be Full.
func (b *Batch) Add(ev *Event) {
	i := len(b.Events)
	c := &b.evs[i]
	*c = Event{Kind: ev.Kind, TS: ev.TS, Open: ev.Open}
	switch {
	case ev.Conn != nil:
		b.conns = grow(b.conns, cap(b.Events))
		c.Conn = &b.conns[len(b.conns)-1]
		*c.Conn = *ev.Conn
	case ev.DNS != nil:
		b.dns = grow(b.dns, cap(b.Events))
		x := &b.dns[len(b.dns)-1]
		*x = *ev.DNS
		if len(x.Answers) > 0 { // (nil and empty stay as they are)
			start := len(b.lists)
			for _, a := range x.Answers {
				b.lists = append(b.lists, b.keep(a))
			}
			x.Answers = b.lists[start:len(b.lists):len(b.lists)]
		}
		c.DNS = x
	case ev.HTTP != nil:
		b.http = grow(b.http, cap(b.Events))
		c.HTTP = &b.http[len(b.http)-1]
		*c.HTTP = *ev.HTTP
	case ev.SSL != nil:
		b.ssl = grow(b.ssl, cap(b.Events))
		c.SSL = &b.ssl[len(b.ssl)-1]
		*c.SSL = *ev.SSL
	}
	for _, p := range c.ByteFields() {
		if p != nil {
			*p = b.keep(*p)
		}
	}
	b.Events = append(b.Events, c)
}

// ByteFields points at every byte field of the event's decoded view (DNS
// answers apart), nil after the last: what a copy that outlives the reader
// must copy. An array, so that it costs no allocation per row.
func (ev *Event) ByteFields() [8]*[]byte {
	switch {
	case ev.Conn != nil:
		x := ev.Conn
		return [8]*[]byte{&x.UID, &x.Proto, &x.Service, &x.ConnState, &x.History, &x.CommunityID, &x.Label, &x.DetailedLabel}
	case ev.DNS != nil:
		x := ev.DNS
		return [8]*[]byte{&x.UID, &x.Proto, &x.Query, &x.QTypeName, &x.RCodeName, &x.Label, &x.DetailedLabel}
	case ev.HTTP != nil:
		x := ev.HTTP
		return [8]*[]byte{&x.UID, &x.Method, &x.Host, &x.URI, &x.Referrer, &x.UserAgent, &x.Label, &x.DetailedLabel}
	case ev.SSL != nil:
		x := ev.SSL
		return [8]*[]byte{&x.UID, &x.Version, &x.ServerName, &x.JA3, &x.JA3S, &x.Label, &x.DetailedLabel}
	}
	return [8]*[]byte{}
}

// grow extends s by one element without moving the earlier ones (the
// batch hands out pointers to them): its capacity is the batch's from the
// start.
func grow[T any](s []T, n int) []T {
	if s == nil {
		s = make([]T, 0, n)
	}
	return s[:len(s)+1]
}

// keep copies p into the batch's bytes. When they have to grow, the
// slices handed out before keep the old array, which stays valid.
func (b *Batch) keep(p []byte) []byte {
	if len(p) == 0 {
		return p[:0:0] // nil stays nil, empty stays empty
	}
	start := len(b.bytes)
	b.bytes = append(b.bytes, p...)
	return b.bytes[start:len(b.bytes):len(b.bytes)]
}
