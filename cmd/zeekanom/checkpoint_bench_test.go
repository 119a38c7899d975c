package main

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader/follow"
	"github.com/zeekanom/zeekanom/zeekreader/zeekgen"
)

// BenchmarkCheckpoint160k is what a checkpoint of a busy sensor's state
// costs in memory: every default detector after 2M zeekgen rows from
// 160,000 hosts, then the checkpoint as run takes it (copies, encoding,
// the file written). peak-MB is how far the process's resident memory
// rose above the state it saves (VmHWM, reset before the checkpoint,
// less VmRSS after a GC, rss-MB); file-MB the checkpoint's size, its
// snapshot files included. Run it with
// -benchtime 1x: building the state takes most of a minute.
func BenchmarkCheckpoint160k(b *testing.B) {
	var buf bytes.Buffer
	zeekgen.Write(&buf, zeekgen.Options{Rows: 2000000, Hosts: 160000, Seed: 5})
	dets, err := buildDetectors(nil, nil, "")
	if err != nil {
		b.Fatal(err)
	}
	eng := detectors.NewEngine(func(*notice.Notice) {}, dets...)
	feed(b, eng, buf.Bytes())
	buf = bytes.Buffer{}
	dir := b.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var peak, size, state float64
	b.ResetTimer()
	for range b.N {
		runtime.GC()
		debug.FreeOSMemory()
		rss := procStatus(b, "VmRSS")
		state = float64(rss) / 1e6
		if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
			b.Skip("cannot reset the peak resident size:", err)
		}
		if err := captureState(dets, eng, nil, dir, log)(); err != nil {
			b.Fatal(err)
		}
		peak = max(peak, float64(procStatus(b, "VmHWM")-rss)/1e6)
		size = float64(dirSize(b, dir)) / 1e6
	}
	b.ReportMetric(peak, "peak-MB")
	b.ReportMetric(size, "file-MB")
	b.ReportMetric(state, "rss-MB")
}

// dirSize is the bytes of the files in dir.
func dirSize(b testing.TB, dir string) (n int64) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			b.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}

// feed hands an engine the conn rows of data in runs of batchRows, as
// score does, and flushes nothing (the windows stay open); it returns the
// number of rows.
func feed(b testing.TB, eng *detectors.Engine, data []byte) (rows int) {
	return window.FeedConn(b, eng, data, batchRows)
}

// procStatus is a /proc/self/status field in bytes (the kB figures).
func procStatus(b testing.TB, field string) int64 {
	s, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skip("no /proc/self/status:", err)
	}
	for _, l := range strings.Split(string(s), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// BenchmarkRestore160k is the start of a sidecar from the checkpoint of
// BenchmarkCheckpoint160k: the file loaded and every detector restored,
// as run does.
// peak-MB is how far resident memory rose above what it was before;
// state-MB what stays once restored (after a GC), all detectors' state,
// and state-B/host that over the 160,000 tracked hosts.
func BenchmarkRestore160k(b *testing.B) {
	var buf bytes.Buffer
	zeekgen.Write(&buf, zeekgen.Options{Rows: 2000000, Hosts: 160000, Seed: 5})
	dir := b.TempDir()
	{
		dets, err := buildDetectors(nil, nil, "")
		if err != nil {
			b.Fatal(err)
		}
		eng := detectors.NewEngine(func(*notice.Notice) {}, dets...)
		feed(b, eng, buf.Bytes())
		if err := captureState(dets, eng, nil, dir, slog.New(slog.NewTextHandler(io.Discard, nil)))(); err != nil {
			b.Fatal(err)
		}
	}
	buf = bytes.Buffer{}
	var peak, state float64
	var keep []detectors.Detector
	b.ResetTimer()
	for range b.N {
		keep = nil
		runtime.GC()
		debug.FreeOSMemory()
		rss := procStatus(b, "VmRSS")
		if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
			b.Skip("cannot reset the peak resident size:", err)
		}
		st, err := follow.LoadState(dir)
		if err != nil {
			b.Fatal(err)
		}
		dets, err := buildDetectors(nil, nil, "")
		if err != nil {
			b.Fatal(err)
		}
		var warned bytes.Buffer
		if err := restoreState(dets, st, slog.New(slog.NewTextHandler(&warned, nil))); err != nil {
			b.Fatal(err)
		}
		if warned.Len() > 0 {
			b.Fatal(warned.String())
		}
		st, keep = nil, dets
		peak = max(peak, float64(procStatus(b, "VmHWM")-rss)/1e6)
		runtime.GC()
		debug.FreeOSMemory()
		state = float64(procStatus(b, "VmRSS")-rss) / 1e6
	}
	runtime.KeepAlive(keep)
	b.ReportMetric(peak, "peak-MB")
	b.ReportMetric(state, "state-MB")
	b.ReportMetric(state*1e6/160000, "state-B/host")
}

// BenchmarkState160k is each default detector's state after 2M zeekgen
// rows from 160,000 hosts (about 67 minutes: every host active in the
// hour, its hour windows open), in bytes per host of live heap after a
// GC: live-B/host is the detector that read the rows (with the room its
// slabs and tables kept from busier moments, such as the hour boundary
// when each host holds two hours' windows), restored-B/host a detector
// restored from its snapshot (only what is in use). The sub-benchmark
// "all" is their sum. Run it with -benchtime 1x.
func BenchmarkState160k(b *testing.B) {
	var buf bytes.Buffer
	zeekgen.Write(&buf, zeekgen.Options{Rows: 2000000, Hosts: 160000, Seed: 5})
	const hosts = 160000
	var liveAll, restoredAll float64
	names := detectorNames(b)[1:]
	for _, name := range names {
		var live, restored float64
		b.Run(name, func(b *testing.B) {
			for range b.N {
				live, restored = window.StateBytes(b, func() detectors.Detector { return defaultDetectors(name)[0] }, buf.Bytes(), hosts, nil)
			}
			b.ReportMetric(live, "live-B/host")
			b.ReportMetric(restored, "restored-B/host")
		})
		liveAll += live
		restoredAll += restored
	}
	b.Run("all", func(b *testing.B) {
		b.ReportMetric(liveAll, "live-B/host")
		b.ReportMetric(restoredAll, "restored-B/host")
	})
}
