// Package longconn flags connections that last longer than a threshold,
// including connections still open (open_conn.log rows, or a uid seen
// again with a growing duration).
package longconn

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"net/netip"
	"time"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
)

// Config is the [detectors.longconn] section.
type Config struct {
	Enabled bool `toml:"enabled"`
	// Threshold is the duration above which a connection is reported.
	Threshold time.Duration `toml:"threshold"`
	// IgnorePorts are "proto/port" never reported.
	IgnorePorts []string `toml:"ignore_ports"`
	// Allow are destination CIDRs never reported.
	Allow []string `toml:"allow"`
	// MaxTracked bounds the set of uids already reported.
	MaxTracked int `toml:"max_tracked"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Enabled: true, Threshold: time.Hour, MaxTracked: 100000}
}

// Validate reports the first bad value of [detectors.longconn] as a
// *window.ConfigError naming its key.
func (cfg Config) Validate() error {
	var c window.Check
	c.Duration("threshold", cfg.Threshold, true)
	c.Ports("ignore_ports", cfg.IgnorePorts)
	c.Networks("allow", cfg.Allow)
	c.AtLeast("max_tracked", cfg.MaxTracked, 1)
	return c.Err()
}

// Fired remembers a reported connection.
type Fired struct {
	Dur time.Duration
}

// Pending is a notice not yet released.
type Pending struct {
	N *notice.Notice
}

// Detector is the long-connection detector.
type Detector struct {
	cfg     Config
	fired   *window.Table[uint64, Fired]
	ignore  map[uint32]bool
	allow   window.Networks
	pending []*notice.Notice
}

var _ detectors.Detector = (*Detector)(nil)
var _ detectors.Stateful = (*Detector)(nil)

// New builds the detector.
func New(cfg Config) *Detector {
	d := &Detector{cfg: cfg, fired: window.NewTableHash[uint64, Fired](cfg.MaxTracked, window.Mix64), ignore: map[uint32]bool{},
		allow: window.MustNetworks(cfg.Allow)}
	for _, s := range cfg.IgnorePorts {
		if k, err := window.PortKey(s); err == nil {
			d.ignore[k] = true
		}
	}
	return d
}

func (d *Detector) Name() string             { return "longconn" }
func (d *Detector) Kinds() []zeekreader.Kind { return []zeekreader.Kind{zeekreader.KindConn} }

// Needs: a conn row without duration is passed over (detectors.Needer).
func (d *Detector) Needs() []detectors.Need {
	return []detectors.Need{{Kind: zeekreader.KindConn, Columns: []string{"duration"}, Judges: "connection duration"}}
}

// Stats reports the tracked uid set.
func (d *Detector) Stats() window.Stats { return d.fired.Stats() }

func hashUID(b []byte, a, z netip.Addr) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return window.Mix64(h ^ window.HashAddr(a, 1) ^ window.HashAddr(z, 2))
}

// Observe takes a conn row.
func (d *Detector) Observe(ev *zeekreader.Event) {
	c := ev.Conn
	if c == nil || !c.HasDuration || c.Duration < d.cfg.Threshold {
		return
	}
	if window.Special(c.Resp) || d.allow.Contains(c.Resp) || d.ignore[uint32(window.ProtoNum(c.Proto))<<16|uint32(c.RespP)] {
		return
	}
	f, created := d.fired.Get(hashUID(c.UID, c.Orig, c.Resp))
	if !created {
		if c.Duration > f.Dur {
			f.Dur = c.Duration // seen growing: already reported
		}
		return
	}
	f.Dur = c.Duration
	end := c.TS.Add(c.Duration)
	n := &notice.Notice{Rule: notice.RuleLongConnection, Timestamp: end, Start: c.TS, End: end,
		Source: c.Orig, Destination: c.Resp, DestPort: c.RespP, Proto: string(c.Proto)}
	ratio := float64(c.Duration) / float64(d.cfg.Threshold)
	state := "lasted"
	if ev.Open {
		state = "has been open for"
	}
	// the bytes each way, where the row gives them (a count the log
	// lacks reads 0, and is no "0 B sent")
	var sizes string
	feats := map[string]notice.Feature{
		"duration_s": notice.F(c.Duration.Seconds(), d.cfg.Threshold.Seconds(), ratio),
	}
	if c.HasOrigBytes {
		sizes += ", " + window.Bytes(c.OrigBytes) + " sent"
		feats["orig_bytes"] = notice.Feature{Value: float64(c.OrigBytes)}
	}
	if c.HasRespBytes {
		sizes += ", " + window.Bytes(c.RespBytes) + " received"
		feats["resp_bytes"] = notice.Feature{Value: float64(c.RespBytes)}
	}
	n.Message = fmt.Sprintf("%s → %s %s %s (threshold %s%s)",
		c.Orig, window.Endpoint(c.Resp, c.RespP, string(c.Proto)), state, window.FmtDur(c.Duration.Round(time.Second)),
		window.FmtDur(d.cfg.Threshold), sizes)
	n.RiskScore = window.Risk(ratio)
	if ev.Open {
		feats["still_open"] = notice.Feature{Value: 1}
		n.Sub = "open"
	}
	n.UIDs = []string{string(c.UID)}
	n.Explain = notice.Explanation{Detector: "longconn", Score: c.Duration.Seconds(), Features: feats,
		Top: []string{"duration_s"}, Window: c.Duration.Seconds()}
	n.Finalize(string(c.UID))
	d.pending = append(d.pending, n)
}

// Advance releases the notices found since the last call.
func (d *Detector) Advance(wm time.Time, emit detectors.Emit) { d.Flush(emit) }

// Flush releases pending notices.
func (d *Detector) Flush(emit detectors.Emit) {
	for _, n := range d.pending {
		emit(n)
	}
	clear(d.pending)
	d.pending = d.pending[:0]
}

// snapshotVersion is bumped when the snapshot's form changes.
const snapshotVersion = 1

type snap struct {
	Fired   []window.Entry[uint64, Fired]
	Ev      int64
	Pending []*notice.Notice
	Layout  window.Layout // where Fired's entries sit (eviction order)
	// Version is snapshotVersion (0: written before snapshots carried
	// one, in the same form); a newer one is refused (SnapshotVersion)
	Version int
}

// Snapshot encodes the reported-uid set and pending notices (gob).
func (d *Detector) Snapshot() ([]byte, error) {
	var b bytes.Buffer
	err := gob.NewEncoder(&b).Encode(&snap{d.fired.Export(), d.fired.Evicted(), d.pending, d.fired.Layout(), snapshotVersion})
	return b.Bytes(), err
}

// Restore loads a Snapshot.
func (d *Detector) Restore(b []byte) error {
	var s snap
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&s); err != nil {
		return err
	}
	if err := window.SnapshotVersion("longconn", s.Version, 0, snapshotVersion); err != nil {
		return err
	}
	d.fired.ImportLayout(s.Fired, s.Ev, s.Layout)
	d.pending = s.Pending
	return nil
}
