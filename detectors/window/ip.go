package window

import (
	"encoding/binary"
	"net/netip"
)

// IP is an address as 16 bytes (IPv4 as IPv4-mapped IPv6): a pointer-free
// key, so the big state tables hold no pointers and cost the garbage
// collector nothing. Zones are dropped.
type IP [16]byte

// IPOf converts an address.
func IPOf(a netip.Addr) IP {
	if !a.IsValid() {
		return IP{}
	}
	return IP(a.As16())
}

// Addr converts back (IPv4-mapped addresses become IPv4).
func (ip IP) Addr() netip.Addr {
	if ip == (IP{}) {
		return netip.Addr{}
	}
	return netip.AddrFrom16(ip).Unmap()
}

// String is the address's text.
func (ip IP) String() string { return ip.Addr().String() }

// HashIP hashes an IP with a seed.
func HashIP(ip IP, seed uint64) uint64 {
	var hi, lo uint64
	for i := 0; i < 8; i++ {
		hi = hi<<8 | uint64(ip[i])
		lo = lo<<8 | uint64(ip[i+8])
	}
	return Mix64(Mix64(hi^seed) ^ lo)
}

// KeyHash hashes an IP and extra key bits for a Table index (fast; not
// for HyperLogLogs, whose counts must not change with it).
func KeyHash(ip IP, extra uint64) uint64 {
	lo, hi := binary.LittleEndian.Uint64(ip[:8]), binary.LittleEndian.Uint64(ip[8:])
	return Mix64(lo ^ Mix64(hi^extra))
}

// NewIPTable is a Table keyed by IP.
func NewIPTable[V any](max int) *Table[IP, V] {
	return NewTableHash[IP, V](max, func(k IP) uint64 { return KeyHash(k, 0) })
}

// ProtoNum maps Zeek's transport names to IP protocol numbers, so state
// keys carry one byte instead of a string.
func ProtoNum(p []byte) uint8 {
	switch string(p) {
	case "tcp":
		return 6
	case "udp":
		return 17
	case "icmp":
		return 1
	}
	return 0
}

// ProtoName is the inverse, as ECS network.transport wants it ("" when
// unknown, so the field is left out).
func ProtoName(p uint8) string {
	switch p {
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 1:
		return "icmp"
	}
	return ""
}

// Endpoint writes a destination as a message names it: 10.1.2.3:443/tcp,
// [2001:db8::1]:53/udp; an ICMP one, whose port in Zeek's logs is the
// ICMP code, as 10.1.2.3 (icmp), as is one of another transport without
// a port; without a transport, 10.1.2.3:443. (Long connections over ICMP
// read "10.8.0.93 → 147.32.83.181:0".)
func Endpoint(a netip.Addr, port uint16, proto string) string {
	switch {
	case proto == "icmp" || proto != "" && proto != "tcp" && proto != "udp" && port == 0:
		return a.String() + " (" + proto + ")"
	case proto == "":
		return netip.AddrPortFrom(a, port).String()
	}
	return netip.AddrPortFrom(a, port).String() + "/" + proto
}
