// Command genlog writes a synthetic conn.log for scripts/bench:
//
//	go run ./scripts/genlog -rows 1000000 [-json] [-hosts 3000] > conn.log
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/zeekanom/zeekanom/zeekreader/zeekgen"
)

func main() {
	var o zeekgen.Options
	flag.IntVar(&o.Rows, "rows", 1000000, "rows to write")
	flag.IntVar(&o.Hosts, "hosts", 3000, "distinct originators")
	flag.BoolVar(&o.JSON, "json", false, "JSON lines instead of TSV")
	flag.Uint64Var(&o.Seed, "seed", 1, "random seed")
	flag.Parse()
	if err := zeekgen.Write(os.Stdout, o); err != nil {
		fmt.Fprintln(os.Stderr, "genlog:", err)
		os.Exit(1)
	}
}
