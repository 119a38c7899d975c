package zeekreader

import (
	"net/netip"
	"testing"
)

var addrSink netip.Addr

func BenchmarkParseAddr(b *testing.B) {
	in := []byte("192.168.100.121")
	b.Run("ours", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			addrSink, _ = parseAddr(in)
		}
	})
	b.Run("netip", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			addrSink, _ = netip.ParseAddr(bstr(in))
		}
	})
}
