package main

import (
	"context"
	"errors"
	"io"
)

// cmdRun is a placeholder until run.go lands; delete this file when adding it.
func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("'run' is not implemented in this build")
}
