package main

import (
	"context"
	"errors"
	"io"
)

// cmdCut is a placeholder until cut.go lands; delete this file when adding it.
func cmdCut(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("'cut' is not implemented in this build")
}
