package beacon

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/zeekanom/zeekanom/detectors/window"
)

// portSlots is how many distinct ports (with their transport) a key's
// counts keep in a window; rows on ports past them are counted together
// (portCounts.Other).
const portSlots = 4

// dominantTenths is the share of a key's rows, in tenths, that one port
// must have for its notice to name it as the destination's port when
// some rows went to other ports: a stray row or two (a check on :80 of a
// :443 C2) does not hide the beacon's port, while a channel split over
// two ports gets none (destination.port unset, every port in the
// message), since whichever port the notice named, a search for it would
// find a part of the beacon.
const dominantTenths = 9

// protoUnknown is the transport of a sighting restored from a version 1
// snapshot, which did not keep its row's port: the row takes its key's
// next row's, as that build did.
const protoUnknown = 0xff

// portCounts counts a key's rows in a window by destination port and
// transport, so that its notice names the port of its rows and not
// whichever its last row had. The first portSlots distinct ports are
// counted apart, the rest together in Other; none of it depends on the
// rows' order but which ports get a slot when there are more than
// portSlots, and then no port is named.
type portCounts struct {
	Port  [portSlots]uint16
	Proto [portSlots]uint8
	N     [portSlots]uint32
	Other uint32
}

func (c *portCounts) add(port uint16, proto uint8) {
	for i := range c.N {
		if c.N[i] == 0 { // slots fill in order: port has none
			c.Port[i], c.Proto[i] = port, proto
		} else if c.Port[i] != port || c.Proto[i] != proto {
			continue
		}
		inc(&c.N[i])
		return
	}
	inc(&c.Other)
}

// portsSaid is what a notice says of its rows' ports.
type portsSaid struct {
	// port and proto are destination.port and network.transport: those
	// of all the rows, or of dominantTenths of them; else port 0 (unset)
	// and the rows' transport when they share one, else 0 (unset).
	port  uint16
	proto uint8
	named bool // port names the rows' port (it may be 0: ICMP's)
	// where names the ports for the message without an address: "on
	// tcp/443", "with ICMP", "on tcp/443 and tcp/8080", "on 5 or more
	// ports".
	where string
	// split counts the rows by port where they went to more than one
	// (and to at most portSlots): "2 of them on tcp/80" beside a named
	// port, "110 on tcp/443, 102 on tcp/8080" when none is named.
	split string
}

// said is what a notice of c's rows says of their ports.
func (c *portCounts) said() portsSaid {
	var idx []int
	total := uint64(c.Other)
	for i, n := range c.N {
		if n > 0 {
			idx = append(idx, i)
			total += uint64(n)
		}
	}
	// the most rows first, then by transport and port: an order of the
	// counts alone, not of the rows
	slices.SortFunc(idx, func(i, j int) int {
		return cmp.Or(cmp.Compare(c.N[j], c.N[i]), cmp.Compare(c.Proto[i], c.Proto[j]), cmp.Compare(c.Port[i], c.Port[j]))
	})
	if len(idx) == 0 { // no row counted (a damaged snapshot)
		return portsSaid{where: "on no known port"}
	}
	top := idx[0]
	if c.Other == 0 && uint64(c.N[top])*10 >= total*dominantTenths {
		s := portsSaid{port: c.Port[top], proto: c.Proto[top], named: true,
			where: service(c.Port[top], window.ProtoName(c.Proto[top]))}
		if len(idx) > 1 {
			s.split = fmt.Sprintf("%d of them on %s", total-uint64(c.N[top]), c.names(idx[1:], false))
		}
		return s
	}
	s := portsSaid{proto: c.Proto[top]}
	for _, i := range idx {
		if c.Proto[i] != s.proto {
			s.proto = 0
		}
	}
	if c.Other > 0 {
		s.proto = 0 // (the transports of Other's rows are not kept)
		s.where = fmt.Sprintf("on %d or more ports", portSlots+1)
		return s
	}
	s.where, s.split = "on "+c.names(idx, false), c.names(idx, true)
	return s
}

// names lists the ports of slots idx for a message: "tcp/443, udp/443
// and ICMP", or with counts "110 on tcp/443, 102 on tcp/8080".
func (c *portCounts) names(idx []int, counts bool) string {
	var b strings.Builder
	for k, i := range idx {
		switch {
		case k == 0:
		case counts || k < len(idx)-1:
			b.WriteString(", ")
		default:
			b.WriteString(" and ")
		}
		if counts {
			fmt.Fprintf(&b, "%d on ", c.N[i])
		}
		b.WriteString(portName(c.Port[i], window.ProtoName(c.Proto[i])))
	}
	return b.String()
}

// portName names a port in a list: "tcp/443", "ICMP", "port 443" (of an
// unknown transport).
func portName(port uint16, proto string) string {
	switch proto {
	case "icmp":
		return "ICMP"
	case "":
		return fmt.Sprintf("port %d", port)
	}
	return fmt.Sprintf("%s/%d", proto, port)
}
